"""Forms of the campaign and inspection pages. They only parse input: every write, and every rule
about what may be written, is the services' (`weibao.inspections.services`)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import User
from weibao.core.widgets import DatePicker
from weibao.inspections.models import Answer, Campaign, Checklist, Inspection
from weibao.inspections.selectors import CampaignState
from weibao.inspections.services.inspections import REGULATOR_ROLES
from weibao.registry.forms import ServiceForm
from weibao.registry.models import Enterprise, EnterpriseKind, Jurisdiction, Site

DATE = DatePicker()


class CampaignFilterForm(forms.Form):
    # Named like the API's query parameters, so one link means the same on both.
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any state")), *CampaignState.choices]
    )


def divisions_for(area: Jurisdiction) -> QuerySet[Jurisdiction]:
    """The area itself and the counties inside it: what a campaign of that area may cover."""
    return Jurisdiction.objects.filter(
        Q(code=area.code) | Q(code__startswith=area.prefix, level=Jurisdiction.Level.COUNTY)
    ).order_by("code")


class CampaignForm(ServiceForm):
    scope = forms.MultipleChoiceField(
        label=_("Divisions covered"), widget=forms.CheckboxSelectMultiple
    )
    kinds = forms.MultipleChoiceField(
        label=_("Unit kinds covered"),
        choices=EnterpriseKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "description",
            "scope",
            "kinds",
            "starts_on",
            "ends_on",
            "checklist",
            "self_inspection_required",
            "self_inspection_due",
            "spot_check_ratio",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "starts_on": DATE,
            "ends_on": DATE,
            "self_inspection_due": DATE,
            "spot_check_ratio": forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}),
        }
        help_texts = {
            "spot_check_ratio": _("Share of the units drawn for spot checks: 0.2 = 1 in 5.")
        }

    def __init__(self, *args: Any, user: User, area: Jurisdiction, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.divisions = {j.code: j for j in divisions_for(area)}
        scope = cast(forms.MultipleChoiceField, self.fields["scope"])
        scope.choices = [(code, f"{j.display_name} ({code})") for code, j in self.divisions.items()]
        current = Q(is_current=True)
        if self.instance.checklist_id:
            current |= Q(pk=self.instance.checklist_id)
        checklist = cast(forms.ModelChoiceField, self.fields["checklist"])  # type: ignore[type-arg]
        checklist.queryset = Checklist.objects.visible_to(user).filter(current)
        checklist.empty_label = str(_("The current checklist for each unit's kind"))
        if self.instance.pk:
            self.initial["scope"] = self.instance.scope_list
            self.initial["kinds"] = self.instance.kind_list
        else:
            self.initial.setdefault("scope", [area.code])

    def clean_scope(self) -> list[Jurisdiction]:
        return [self.divisions[code] for code in self.cleaned_data["scope"]]


def _unit_choices(user: User) -> QuerySet[Enterprise]:
    return Enterprise.objects.visible_to(user).order_by("name")


def _officers(user: User) -> QuerySet[User]:
    """Officers a regulator may name as co-inspectors (the services check each one again)."""
    officers: QuerySet[User] = (
        User.objects.visible_to(user)
        .filter(role__in=REGULATOR_ROLES, is_active=True, agency__isnull=False)
        .select_related("agency")
        .order_by("agency__jurisdiction_id", "full_name", "username")
    )
    return officers


class OfficerChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} · {obj.agency}"


class InspectionFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *Inspection.Kind.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Inspection.Status.choices],
    )
    enterprise = forms.ModelChoiceField(
        label=_("Unit"),
        required=False,
        queryset=Enterprise.objects.none(),
        empty_label=_("All units"),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        required=False,
        queryset=Campaign.objects.none(),
        empty_label=_("Any campaign"),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.is_unit_user:
            del self.fields["enterprise"]  # a unit sees its own inspections only
        else:
            units = cast(forms.ModelChoiceField, self.fields["enterprise"])  # type: ignore[type-arg]
            units.queryset = _unit_choices(user)
        campaigns = cast(forms.ModelChoiceField, self.fields["campaign"])  # type: ignore[type-arg]
        campaigns.queryset = Campaign.objects.visible_to(user)


REGULATOR_KINDS = [
    Inspection.Kind.ROUTINE,
    Inspection.Kind.CAMPAIGN,
    Inspection.Kind.COMPLAINT,
    Inspection.Kind.FOLLOW_UP,
]


class InspectionCreateForm(forms.Form):
    enterprise = forms.ModelChoiceField(label=_("Unit"), queryset=Enterprise.objects.none())
    kind = forms.ChoiceField(label=_("Kind"))
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        required=False,
        queryset=Campaign.objects.none(),
        empty_label=_("Not part of a campaign"),
    )
    checklist = forms.ModelChoiceField(
        label=_("Checklist"),
        required=False,
        queryset=Checklist.objects.none(),
        empty_label=_("The current checklist for the unit's kind"),
    )
    inspectors = OfficerChoiceField(
        label=_("Co-inspectors"),
        required=False,
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("You take part yourself; the law requires at least two officers."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        fields = self.fields
        kind = cast(forms.ChoiceField, fields["kind"])
        if user.is_unit_user:
            # A unit inspects itself, nothing else; its own unit is implied.
            del fields["enterprise"], fields["inspectors"]
            kind.choices = [
                (Inspection.Kind.SELF_INSPECTION, Inspection.Kind.SELF_INSPECTION.label)
            ]
        else:
            kind.choices = [(k.value, k.label) for k in REGULATOR_KINDS]
            cast(forms.ModelChoiceField, fields["enterprise"]).queryset = _unit_choices(user)  # type: ignore[type-arg]
            cast(OfficerChoiceField, fields["inspectors"]).queryset = _officers(user).exclude(
                pk=user.pk
            )
        today = timezone.localdate()
        cast(forms.ModelChoiceField, fields["campaign"]).queryset = Campaign.objects.visible_to(  # type: ignore[type-arg]
            user
        ).filter(ends_on__gte=today)
        cast(forms.ModelChoiceField, fields["checklist"]).queryset = Checklist.objects.visible_to(  # type: ignore[type-arg]
            user
        ).filter(is_current=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Inspection.Kind.CAMPAIGN and not data.get("campaign"):
            self.add_error("campaign", _("Choose the campaign this inspection belongs to."))
        return data

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        if self.user.is_unit_user:
            data["enterprise"] = self.user.enterprise
        data["inspectors"] = list(data.get("inspectors") or [])
        return data


SIGNATURE_PREFIX = "data:image/png;base64,"


def decode_signature(value: str) -> ContentFile[bytes] | None:
    """The PNG a signature canvas sends as a data URL (the service checks type and size)."""
    if not value:
        return None
    if not value.startswith(SIGNATURE_PREFIX):
        raise ValidationError(_("The drawn signature could not be read; sign again."))
    try:
        raw = base64.b64decode(value[len(SIGNATURE_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(_("The drawn signature could not be read; sign again.")) from None
    return ContentFile(raw, name="signature.png")


# Service error keys that belong to one field of the page; answers[3].deadline → deadline-<item>.
ANSWER_ERROR = re.compile(r"^answers\[(\d+)\]\.(\w+)$")
FIELD_FOR_ERROR = {"signature": "signature_drawn", "signature_image": "signature_drawn"}


class InspectionForm(forms.Form):
    """The whole inspection record: one result, note, deadline and photo per checklist item, and
    the closing part (date, site, who took part, signature)."""

    inspected_on = forms.DateField(
        label=_("Inspected on"),
        required=False,
        widget=DatePicker(attrs={"data-testid": "inspected-on"}),
    )
    site = forms.ModelChoiceField(
        label=_("Site or magazine"),
        required=False,
        queryset=Site.objects.none(),
        empty_label=_("The unit as a whole"),
    )
    conducted_by = forms.CharField(label=_("Led by (in the unit)"), required=False, max_length=200)
    inspectors = OfficerChoiceField(
        label=_("Inspectors"),
        required=False,
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    summary = forms.CharField(
        label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    representative_name = forms.CharField(
        label=_("Unit representative"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"data-testid": "representative-name", "autocomplete": "name"}
        ),
    )
    signature_text = forms.CharField(
        label=_("Typed signature"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"data-testid": "signature-text"}),
    )
    signature_drawn = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        inspection: Inspection,
        answers: list[Answer],
        user: User,
    ) -> None:
        self.inspection = inspection
        self.answers = answers
        initial: dict[str, Any] = {
            "inspected_on": inspection.inspected_on or timezone.localdate(),
            "site": inspection.site_id,
            "conducted_by": inspection.conducted_by,
            "summary": inspection.summary,
            "representative_name": inspection.representative_name,
            "signature_text": inspection.signature_text,
            "inspectors": [i.pk for i in inspection.inspectors.all()],
        }
        for answer in answers:
            initial[f"result-{answer.item_id}"] = answer.result
            initial[f"note-{answer.item_id}"] = answer.note
            initial[f"deadline-{answer.item_id}"] = answer.deadline
        super().__init__(data, files, initial=initial)
        today = timezone.localdate().isoformat()
        for answer in answers:
            key = answer.item_id
            self.fields[f"result-{key}"] = forms.ChoiceField(
                label=_("Result"), required=False, choices=Answer.Result.choices
            )
            self.fields[f"note-{key}"] = forms.CharField(
                label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
            )
            self.fields[f"deadline-{key}"] = forms.DateField(
                label=_("Rectification deadline"),
                required=False,
                widget=DatePicker(attrs={"min": today}),
                help_text=_("Empty: the default deadline for the hazard's level."),
            )
            self.fields[f"photo-{key}"] = forms.FileField(
                label=_("Add a photo"),
                required=False,
                widget=forms.ClearableFileInput(
                    attrs={"accept": "image/*", "capture": "environment", "class": "photo-input"}
                ),
            )
        site = cast(forms.ModelChoiceField, self.fields["site"])  # type: ignore[type-arg]
        site.queryset = Site.objects.visible_to(user).filter(enterprise_id=inspection.enterprise_id)
        if inspection.is_self_inspection:
            del self.fields["inspectors"]
        else:
            del self.fields["conducted_by"]
            if inspection.draw_id:
                # The draw paired the officers at random: the page does not re-pair them.
                del self.fields["inspectors"]
            else:
                current = [i.pk for i in inspection.inspectors.all()]
                cast(OfficerChoiceField, self.fields["inspectors"]).queryset = User.objects.filter(
                    Q(pk__in=current) | Q(pk__in=_officers(user).values("pk"))
                ).select_related("agency")

    def rows(self) -> list[dict[str, Any]]:
        """One entry per checklist item, in order, with its bound fields."""
        return [
            {
                "answer": a,
                "result": self[f"result-{a.item_id}"],
                "note": self[f"note-{a.item_id}"],
                "deadline": self[f"deadline-{a.item_id}"],
                "photo": self[f"photo-{a.item_id}"],
            }
            for a in self.answers
        ]

    def clean_signature_drawn(self) -> ContentFile[bytes] | None:
        return decode_signature(self.cleaned_data.get("signature_drawn") or "")

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for `inspection_update` (without actor and inspection)."""
        data = self.cleaned_data
        fields = ["inspected_on", "site", "summary", "representative_name", "signature_text"]
        fields += [f for f in ("conducted_by", "inspectors") if f in self.fields]
        values = {f: data.get(f) for f in fields}
        for text in ("summary", "representative_name", "signature_text", "conducted_by"):
            if text in values:
                values[text] = (values[text] or "").strip()
        if "inspectors" in values:
            values["inspectors"] = list(values["inspectors"] or [])
        answers = [
            {
                "item": a.item_id,
                "result": data.get(f"result-{a.item_id}") or "",
                "note": (data.get(f"note-{a.item_id}") or "").strip(),
                "deadline": data.get(f"deadline-{a.item_id}"),
            }
            for a in self.answers
        ]
        return {
            "data": values,
            "answers": answers,
            "signature_image": data.get("signature_drawn"),
        }

    def photos(self) -> list[tuple[int, Any]]:
        return [
            (a.item_id, self.files[f"photo-{a.item_id}"])
            for a in self.answers
            if self.files and self.files.get(f"photo-{a.item_id}")
        ]

    def attach(self, exc: ValidationError) -> None:
        """Put a service's errors next to the part of the page they are about."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, messages in exc.message_dict.items():
            match = ANSWER_ERROR.match(key)
            field: str | None = FIELD_FOR_ERROR.get(key, key)
            if match and int(match.group(1)) < len(self.answers):
                item = self.answers[int(match.group(1))].item_id
                field = f"{match.group(2)}-{item}"
            if field not in self.fields:
                field = None
            self.add_error(field, messages)


class PhotoForm(forms.Form):
    """One photo sent on its own by the page's script (a queued photo, once online)."""

    item = forms.IntegerField()
    file = forms.FileField()
