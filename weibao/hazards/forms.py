"""Forms of the hazard pages. They only shape input: every rule (who may, which step, deadlines,
the five plan elements, file types) is checked by the services, whose errors land back here."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import User
from weibao.core.widgets import DatePicker
from weibao.hazards import services
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.filters import MAX_DUE_WITHIN_DAYS
from weibao.hazards.models import Hazard, HazardStatus, TreatmentPlan
from weibao.hazards.statistics import MIN_YEAR
from weibao.registry.forms import jurisdiction_choices
from weibao.registry.models import Enterprise, Person, Site

# What the file inputs offer; the services check the content (magic bytes), not the name.
FILE_ACCEPT = "image/*,application/pdf"


def supervised_units(user: User) -> QuerySet[Enterprise]:
    return Enterprise.objects.visible_to(user).order_by("name")


# --- list filters -------------------------------------------------------------------------------
class HazardFilterForm(forms.Form):
    # Field names are the API's parameters: the export link carries the page's filters over, and
    # the home tiles (overdue=true, status=…, due_within=3) land here unchanged.
    search = forms.CharField(label=_("Search"), required=False, max_length=100)
    jurisdiction = forms.ChoiceField(label=_("County"), required=False)
    enterprise = forms.ModelChoiceField(
        label=_("Unit"),
        required=False,
        queryset=Enterprise.objects.none(),
        empty_label=_("All units"),
    )
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("Any level")), *HazardLevel.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *HazardStatus.choices]
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any source")), *Hazard.Source.choices]
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any category")), *HazardCategory.choices],
    )
    overdue = forms.ChoiceField(
        label=_("Overdue"),
        required=False,
        choices=[
            ("", _("Overdue or not")),
            ("true", _("Overdue only")),
            ("false", _("Not overdue")),
        ],
    )
    due_within = forms.IntegerField(
        label=_("Due within (days)"),
        required=False,
        min_value=0,
        max_value=MAX_DUE_WITHIN_DAYS,
        help_text=_("Still owed by the unit, with the deadline at most this many days away."),
    )
    to_accept = forms.ChoiceField(
        label=_("Awaiting your acceptance"),
        required=False,
        choices=[("", _("Any")), ("true", _("Yes"))],
    )
    found_on_after = forms.DateField(label=_("Found from"), required=False, widget=DatePicker())
    found_on_before = forms.DateField(label=_("Found until"), required=False, widget=DatePicker())

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        counties = jurisdiction_choices(user) if not user.is_unit_user else []
        if len(counties) > 1:
            field = cast(forms.ChoiceField, self.fields["jurisdiction"])
            field.choices = [("", _("All counties")), *counties]
        else:
            del self.fields["jurisdiction"]  # a county officer or a unit: one county only
        if user.is_unit_user:
            del self.fields["enterprise"]  # a unit sees its own hazards only
        else:
            units = cast(forms.ModelChoiceField, self.fields["enterprise"])  # type: ignore[type-arg]
            units.queryset = supervised_units(user)

    def filter_data(self) -> dict[str, Any]:
        """The cleaned filters in the shape the API's HazardFilter reads."""
        data: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, "") or name == "search":
                continue
            if name == "status":
                data[name] = [value]
            else:
                data[name] = getattr(value, "pk", value)
        return data


# --- recording a hazard ---------------------------------------------------------------------------
class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the services check each one). Named `uploads` on the step
    forms: a field called `files` would read as the form's own `files`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": FILE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


REGULATOR_SOURCES = [
    (value, label) for value, label in Hazard.Source.choices if value not in Hazard.UNIT_SOURCES
]


class HazardCreateForm(forms.Form):
    enterprise = forms.ModelChoiceField(label=_("Unit"), queryset=Enterprise.objects.none())
    source = forms.ChoiceField(label=_("Source"), choices=REGULATOR_SOURCES)
    level = forms.ChoiceField(label=_("Level"), choices=HazardLevel.choices)
    category = forms.ChoiceField(label=_("Category"), choices=HazardCategory.choices)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    legal_basis = forms.CharField(label=_("Legal basis"), required=False, max_length=300)
    site = forms.ModelChoiceField(
        label=_("Site"), required=False, queryset=Site.objects.none(), empty_label=_("No site")
    )
    responsible_person = forms.ModelChoiceField(
        label=_("Responsible person"),
        required=False,
        queryset=Person.objects.none(),
        empty_label=_("Not named yet"),
    )
    found_on = forms.DateField(label=_("Found on"), widget=DatePicker())
    deadline = forms.DateField(
        label=_("Deadline"),
        required=False,
        widget=DatePicker(),
        help_text=_("Leave empty for the default deadline of the level."),
    )
    working_days = forms.IntegerField(
        label=_("or working days"), required=False, min_value=1, max_value=366
    )
    photos = MultipleFileField(label=_("Photos"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("found_on", timezone.localdate())
        units = cast(forms.ModelChoiceField, self.fields["enterprise"])  # type: ignore[type-arg]
        if user.is_unit_user:
            # The unit records its own self-inspection findings only (the service says so too).
            units.queryset = Enterprise.objects.filter(pk=user.enterprise_id or 0)
            units.initial = user.enterprise_id
            units.widget = forms.HiddenInput()
            units.disabled = True  # whatever is posted, it is the user's own unit
            del self.fields["source"]
        else:
            units.queryset = supervised_units(user)
            units.widget.attrs.update(
                {
                    "hx-get": reverse("hazard-create"),
                    "hx-target": "#unit-dependent",
                    "hx-select": "#unit-dependent",
                    "hx-swap": "outerHTML",
                }
            )
        unit = self._chosen_unit(units.queryset)
        sites = cast(forms.ModelChoiceField, self.fields["site"])  # type: ignore[type-arg]
        people = cast(forms.ModelChoiceField, self.fields["responsible_person"])  # type: ignore[type-arg]
        if unit is not None:
            sites.queryset = Site.objects.filter(enterprise=unit).order_by("name")
            people.queryset = Person.objects.filter(enterprise=unit, is_active=True).order_by(
                "name"
            )

    def _chosen_unit(self, units: QuerySet[Enterprise]) -> Enterprise | None:
        """The unit picked so far (submitted, or in the query string): its sites and people are
        the ones offered."""
        field = self.fields["enterprise"]
        raw = self.data.get("enterprise") if self.is_bound and not field.disabled else None
        raw = raw or self.initial.get("enterprise") or field.initial
        try:
            return units.filter(pk=int(str(getattr(raw, "pk", raw)))).first()
        except (TypeError, ValueError):
            return None

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "photos" and v not in (None, "")}


# --- life-cycle steps -----------------------------------------------------------------------------
# Each step form calls its service with `run(actor, hazard)`, which returns where to go next (None:
# back to the hazard). The services are atomic: a refusal writes nothing.
class PlanForm(forms.ModelForm[TreatmentPlan]):
    """The treatment plan (治理方案). Every field optional here: the service names the missing
    elements a major hazard needs, so the form does not hide them behind its own messages."""

    class Meta:
        model = TreatmentPlan
        fields = [
            "objective",
            "measures",
            "funds",
            "materials",
            "responsible_person",
            "deadline",
            "emergency_measures",
        ]
        widgets = {
            "objective": forms.Textarea(attrs={"rows": 2}),
            "measures": forms.Textarea(attrs={"rows": 2}),
            "materials": forms.Textarea(attrs={"rows": 2}),
            "emergency_measures": forms.Textarea(attrs={"rows": 2}),
            "deadline": DatePicker(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def _post_clean(self) -> None:
        pass  # the service validates the plan inside its transaction

    def plan_data(self) -> dict[str, Any] | None:
        """What the service saves; None when nothing was filled in (keeps a saved plan)."""
        data = dict(self.cleaned_data)
        if all(v in (None, "") for v in data.values()):
            return None
        return data

    def run(self, actor: User, hazard: Hazard) -> str | None:
        services.hazard_plan_save(actor=actor, hazard=hazard, data=self.plan_data() or {})
        return None


class StartForm(PlanForm):
    """Start rectifying; a major hazard carries its plan along (all five elements)."""

    def run(self, actor: User, hazard: Hazard) -> str | None:
        services.hazard_start(actor=actor, hazard=hazard, plan=self.plan_data())
        return None


class RectificationForm(forms.Form):
    note = forms.CharField(
        label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    uploads = MultipleFileField(label=_("Evidence (photos or PDF)"))

    def run(self, actor: User, hazard: Hazard) -> str | None:
        data = self.cleaned_data
        services.hazard_submit_rectification(
            actor=actor, hazard=hazard, note=data["note"], files=data["uploads"]
        )
        return None


class AcceptForm(forms.Form):
    opinion = forms.CharField(
        label=_("Acceptance opinion"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    uploads = MultipleFileField(label=_("Acceptance photos or documents"))

    def run(self, actor: User, hazard: Hazard) -> str | None:
        data = self.cleaned_data
        services.hazard_accept(
            actor=actor, hazard=hazard, opinion=data["opinion"], files=data["uploads"]
        )
        return None


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def run(self, actor: User, hazard: Hazard) -> str | None:
        services.hazard_reject(actor=actor, hazard=hazard, reason=self.cleaned_data["reason"])
        return None


class CancelForm(RejectForm):
    def run(self, actor: User, hazard: Hazard) -> str | None:
        services.hazard_cancel(actor=actor, hazard=hazard, reason=self.cleaned_data["reason"])
        return None


class ExtendForm(forms.Form):
    deadline = forms.DateField(label=_("New deadline"), required=False, widget=DatePicker())
    working_days = forms.IntegerField(
        label=_("or working days from today"), required=False, min_value=1, max_value=366
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def run(self, actor: User, hazard: Hazard) -> str | None:
        data = self.cleaned_data
        services.hazard_extend(
            actor=actor,
            hazard=hazard,
            reason=data["reason"],
            deadline=data["deadline"],
            working_days=data["working_days"],
        )
        return None


class FilesForm(forms.Form):
    uploads = MultipleFileField(label=_("Photos or documents"))

    def run(self, actor: User, hazard: Hazard) -> str | None:
        services.hazard_attach(actor=actor, hazard=hazard, files=self.cleaned_data["uploads"])
        return None


class FollowUpForm(forms.Form):
    """One click: the inspection is planned for today unless a date is given; next comes its
    form."""

    planned_on = forms.DateField(label=_("Planned for"), required=False, widget=DatePicker())

    def run(self, actor: User, hazard: Hazard) -> str | None:
        inspection = services.hazard_schedule_follow_up(
            actor=actor, hazard=hazard, planned_on=self.cleaned_data["planned_on"]
        )
        return reverse("inspection-edit", args=[inspection.pk])


# --- statistics -----------------------------------------------------------------------------------
class StatisticsForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    quarter = forms.TypedChoiceField(label=_("Quarter"), coerce=int)
    enterprise = forms.ModelChoiceField(
        label=_("Unit"),
        required=False,
        queryset=Enterprise.objects.none(),
        empty_label=_("All units"),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        year = cast(forms.TypedChoiceField, self.fields["year"])
        year.choices = [(y, str(y)) for y in range(today.year, MIN_YEAR - 1, -1)]
        quarter = cast(forms.TypedChoiceField, self.fields["quarter"])
        quarter.choices = [(q, _("Q%(quarter)d") % {"quarter": q}) for q in range(1, 5)]
        self.initial.setdefault("year", today.year)
        self.initial.setdefault("quarter", (today.month - 1) // 3 + 1)
        if user.is_unit_user:
            del self.fields["enterprise"]
        else:
            units = cast(forms.ModelChoiceField, self.fields["enterprise"])  # type: ignore[type-arg]
            units.queryset = supervised_units(user)


def search_q(text: str) -> Q:
    """The API's `search` (DRF SearchFilter): every word in the description, unit name or USCC."""
    q = Q()
    for word in text.split():
        q &= (
            Q(description__icontains=word)
            | Q(enterprise__name__icontains=word)
            | Q(enterprise__uscc__icontains=word)
        )
    return q
