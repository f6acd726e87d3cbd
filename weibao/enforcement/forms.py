"""Forms of the case pages. They only shape input: every rule (who may, which step, periods,
fine ranges, file types) is checked by the services, whose errors land back on these forms."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from weibao.accounts.models import User
from weibao.core.widgets import DatePicker
from weibao.enforcement import services
from weibao.enforcement.models import (
    Case,
    CaseDocument,
    CaseReview,
    CaseStatus,
    LegalProvision,
    PenaltyItem,
    PenaltyKind,
)
from weibao.enforcement.selectors import DeadlineState, officer_choices
from weibao.hazards.forms import MultipleFileField
from weibao.hazards.models import Hazard
from weibao.inspections.models import Inspection
from weibao.registry.forms import jurisdiction_choices
from weibao.registry.models import Enterprise, Permit, Person

TEXT = {"rows": 3}
NOTE = {"rows": 2}
# The services' name for uploaded files → the step forms' field (a field called `files` would
# read as the form's own `files`).
UPLOAD_FIELDS = {"files": "uploads"}
ITEM_KEY = re.compile(r"^items\[(\d+)\](?:\.(\w+))?$")


def attach_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's validation errors on the fields they name ("files[1]" → uploads);
    anything else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        field = key.split("[", 1)[0].split(".", 1)[0]
        field = UPLOAD_FIELDS.get(field, field)
        form.add_error(field if field in form.fields else None, errors)


class ObjectChoiceField(forms.ChoiceField):
    """A choice among objects already loaded (the case's provisions, the unit's people): unlike
    ModelChoiceField it asks the database nothing when a formset renders it many times."""

    def __init__(self, *, empty_label: Any = "---------", **kwargs: Any) -> None:
        self.empty_label = empty_label
        self.objects: dict[str, Any] = {}
        super().__init__(**kwargs)

    def set_objects(self, objects: Iterable[Model], label: Callable[[Any], str] = str) -> None:
        self.objects = {str(obj.pk): obj for obj in objects}
        self.choices = [("", self.empty_label)] + [
            (key, label(obj)) for key, obj in self.objects.items()
        ]

    def prepare_value(self, value: Any) -> Any:
        return getattr(value, "pk", value)

    def clean(self, value: Any) -> Any:
        key = super().clean(value)
        return self.objects.get(str(key)) if key not in (None, "") else None


# --- the list -------------------------------------------------------------------------------------
class CaseFilterForm(forms.Form):
    search = forms.CharField(label=_("Search"), required=False, max_length=100)
    jurisdiction = forms.ChoiceField(label=_("County"), required=False)
    enterprise = forms.ModelChoiceField(
        label=_("Unit"),
        required=False,
        queryset=Enterprise.objects.none(),
        empty_label=_("All units"),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *CaseStatus.choices]
    )
    deadline = forms.ChoiceField(
        label=pgettext_lazy("case", "Deadline"),
        required=False,
        choices=[
            ("", _("Any deadline")),
            (DeadlineState.DUE, _("Near or passed")),
            (DeadlineState.PASSED, _("Passed")),
            (DeadlineState.NEAR, _("Near")),
            (DeadlineState.NONE, _("Nothing due")),
        ],
    )
    origin = forms.ChoiceField(
        label=_("Origin"), required=False, choices=[("", _("Any origin")), *Case.Origin.choices]
    )
    mine = forms.ChoiceField(
        label=_("Handled by me"),
        required=False,
        choices=[("", _("Any officer")), ("true", _("Cases I handle"))],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        counties = jurisdiction_choices(user) if not user.is_unit_user else []
        if len(counties) > 1:
            field = cast(forms.ChoiceField, self.fields["jurisdiction"])
            field.choices = [("", _("All counties")), *counties]
        else:
            del self.fields["jurisdiction"]  # a county officer or a unit: one county only
        if user.is_unit_user:
            del self.fields["enterprise"]  # a unit sees its own cases only
            del self.fields["mine"]
            del self.fields["origin"]
        else:
            units = cast(forms.ModelChoiceField, self.fields["enterprise"])  # type: ignore[type-arg]
            units.queryset = Enterprise.objects.visible_to(user).order_by("name")
            if not user.is_regulator:
                del self.fields["mine"]

    def filters(self) -> dict[str, Any]:
        """The cleaned filters (nothing when unbound; nothing matches when invalid)."""
        if not self.is_bound:
            return {}
        if not self.is_valid():
            return {"invalid": True}
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        if "mine" in data:
            data["mine"] = data["mine"] == "true"
        return data


# --- opening and editing a case -------------------------------------------------------------------
def _checkboxes(label: Any, model: type[Model]) -> forms.ModelMultipleChoiceField:  # type: ignore[type-arg]
    return forms.ModelMultipleChoiceField(
        label=label,
        required=False,
        queryset=model._default_manager.none(),
        widget=forms.CheckboxSelectMultiple,
    )


class ProvisionField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        provision = cast(LegalProvision, obj)
        label = f"{provision.display_law} {provision.article_label} · {provision.display_title}"
        if not provision.verified:
            return str(_("%(label)s (text not yet verified)") % {"label": label})
        return label


class HazardField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        hazard = cast(Hazard, obj)
        return f"{hazard.reference} · {hazard.get_status_display()} · {hazard.description[:60]}"


class CaseForm(forms.Form):
    """Open a case (a regulator, on a unit of their jurisdiction) or change it while it is
    being built. Choosing the unit reloads the officers, people, hazards and inspections
    offered (htmx; without scripts, saving with errors shows them)."""

    enterprise = forms.ModelChoiceField(label=_("Unit"), queryset=Enterprise.objects.none())
    title = forms.CharField(label=_("Cause of action"), max_length=200)
    facts = forms.CharField(
        label=_("Facts"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    provisions = ProvisionField(
        label=_("Provisions applied"),
        required=False,
        queryset=LegalProvision.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    officers = _checkboxes(_("Handling officers"), User)
    persons = _checkboxes(_("Persons concerned"), Person)
    persons_note = forms.CharField(
        label=_("Other persons concerned"), required=False, widget=forms.Textarea(attrs=NOTE)
    )
    hazards = HazardField(
        label=_("Hazards (evidence)"),
        required=False,
        queryset=Hazard.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    inspections = _checkboxes(_("Inspections (evidence)"), Inspection)

    def __init__(self, *args: Any, user: User, case: Case | None = None, **kwargs: Any) -> None:
        if case is not None:
            kwargs.setdefault(
                "initial",
                {
                    "enterprise": case.enterprise_id,
                    "title": case.title,
                    "facts": case.facts,
                    "persons_note": case.persons_note,
                    "provisions": [p.pk for p in case.provisions.all()],
                    "officers": [o.pk for o in case.officers.all()],
                    "persons": [p.pk for p in case.persons.all()],
                    "hazards": [h.pk for h in case.hazards.all()],
                    "inspections": [i.pk for i in case.inspections.all()],
                },
            )
        super().__init__(*args, **kwargs)
        self.case = case
        units = cast(forms.ModelChoiceField, self.fields["enterprise"])  # type: ignore[type-arg]
        units.queryset = Enterprise.objects.visible_to(user).order_by("name")
        if case is not None:
            units.disabled = True  # a case never moves to another unit
        else:
            units.widget.attrs.update(
                {
                    "hx-get": reverse("case-create"),
                    "hx-target": "#unit-dependent",
                    "hx-select": "#unit-dependent",
                    "hx-swap": "outerHTML",
                }
            )
        provisions = cast(ProvisionField, self.fields["provisions"])
        provisions.queryset = LegalProvision.objects.filter(is_active=True).order_by("code")
        unit = case.enterprise if case is not None else self._chosen_unit(units.queryset)
        self.unit = unit
        if unit is None:
            return
        officers = officer_choices(user, unit)
        self._field("officers").queryset = User.objects.filter(
            pk__in=[o.pk for o in officers]
        ).order_by("agency__jurisdiction_id", "full_name", "username")
        if case is None and not self.is_bound and any(o.pk == user.pk for o in officers):
            self.initial.setdefault("officers", [user.pk])
        self._field("persons").queryset = Person.objects.filter(
            enterprise=unit, is_active=True
        ).order_by("name")
        self._field("hazards").queryset = (
            Hazard.objects.visible_to(user).filter(enterprise=unit).order_by("-found_on", "-id")
        )
        self._field("inspections").queryset = (
            Inspection.objects.visible_to(user)
            .filter(enterprise=unit)
            .order_by("-inspected_on", "-id")
        )

    def _field(self, name: str) -> forms.ModelMultipleChoiceField:  # type: ignore[type-arg]
        return cast(forms.ModelMultipleChoiceField, self.fields[name])  # type: ignore[type-arg]

    def _chosen_unit(self, units: Any) -> Enterprise | None:
        """The unit picked so far (submitted, or in the query string)."""
        raw = self.data.get("enterprise") if self.is_bound else None
        raw = raw or self.initial.get("enterprise")
        try:
            found: Enterprise | None = units.filter(pk=int(str(getattr(raw, "pk", raw)))).first()
        except (TypeError, ValueError):
            return None
        return found

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if self.case is not None:
            data.pop("enterprise", None)
        for name in services.CASE_RELATIONS:
            if name in data:
                data[name] = list(data[name])
        return data


# --- steps ----------------------------------------------------------------------------------------
# Each step form calls its service with `run(actor)` on the case it was built for. The services
# are atomic: a refusal writes nothing.
class StepForm(forms.Form):
    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        self.case = case
        super().__init__(*args, **kwargs)

    def run(self, actor: User) -> Any:
        raise NotImplementedError

    def add_service_errors(self, exc: ValidationError) -> None:
        attach_errors(self, exc)


def _note(label: Any = None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Note"), required=False, widget=forms.Textarea(attrs=NOTE)
    )


class RegisterForm(StepForm):
    number = forms.CharField(
        label=_("Case number"),
        required=False,
        max_length=60,
        help_text=_("Leave empty for the bureau's next number; type it to follow a paper file."),
    )
    note = _note()

    def run(self, actor: User) -> Any:
        data = self.cleaned_data
        return services.case_register(
            actor=actor, case=self.case, number=data["number"], note=data["note"]
        )


class NoteForm(StepForm):
    """A step that takes only a note (investigate, execute, close)."""

    note = _note()
    service: Callable[..., Any] = staticmethod(services.case_investigate)

    def run(self, actor: User) -> Any:
        return type(self).service(actor=actor, case=self.case, note=self.cleaned_data["note"])


class InvestigateForm(NoteForm):
    service = staticmethod(services.case_investigate)


class ExecuteForm(NoteForm):
    service = staticmethod(services.case_execute)


class CloseForm(NoteForm):
    service = staticmethod(services.case_close)


class DropForm(StepForm):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs=NOTE))

    def run(self, actor: User) -> Any:
        return services.case_drop(actor=actor, case=self.case, reason=self.cleaned_data["reason"])


# --- penalties (notice and decision) --------------------------------------------------------------
class PenaltyItemForm(forms.Form):
    provision = ObjectChoiceField(label=_("Provision"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", "---------"), *PenaltyKind.choices]
    )
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), required=False, max_digits=12, decimal_places=2
    )
    person = ObjectChoiceField(
        label=_("Person penalised"),
        required=False,
        empty_label=_("Only for a fine on a responsible person"),
    )
    permit = ObjectChoiceField(
        label=_("Permit"), required=False, empty_label=_("Only for a permit penalty")
    )
    until = forms.DateField(label=_("Suspended until"), required=False, widget=DatePicker())
    description = forms.CharField(label=_("Details"), required=False, max_length=300)

    def __init__(
        self,
        *args: Any,
        provisions: Iterable[LegalProvision] = (),
        people: Iterable[Person] = (),
        permits: Iterable[Permit] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(ObjectChoiceField, self.fields["provision"]).set_objects(
            provisions, lambda p: f"{p.display_law} {p.article_label}"
        )
        cast(ObjectChoiceField, self.fields["person"]).set_objects(people)
        cast(ObjectChoiceField, self.fields["permit"]).set_objects(permits)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # An item is a provision and a kind: say so here (the service's checks need both). A
        # blank extra row never gets here (formsets skip it).
        if not data.get("DELETE"):
            for name in ("provision", "kind"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("This field is required."))
        return data

    def item(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "provision": data["provision"],
            "kind": data["kind"],
            "amount": data.get("amount"),
            "person": data.get("person"),
            "permit": data.get("permit"),
            "until": data.get("until"),
            "description": data.get("description") or "",
        }


def item_initial(item: PenaltyItem) -> dict[str, Any]:
    return {
        "provision": item.provision_id,
        "kind": item.kind,
        "amount": item.amount,
        "person": item.person_id,
        "permit": item.permit_id,
        "until": item.until,
        "description": item.description,
    }


class PenaltiesForm(StepForm):
    """A step that carries penalty items (a formset, prefixed "<step>-items")."""

    note = _note()
    extra = 2

    def __init__(self, data: Any = None, files: Any = None, *, case: Case, **kwargs: Any) -> None:
        super().__init__(data, files, case=case, **kwargs)
        provisions = list(case.provisions.all())
        unit = case.enterprise_id
        formset_class = forms.formset_factory(
            PenaltyItemForm, extra=self.extra, can_delete=True, max_num=20
        )
        self.penalties = formset_class(
            data,
            prefix=f"{self.prefix or 'step'}-items",
            initial=self.initial_items(provisions),
            form_kwargs={
                "provisions": provisions,
                "people": Person.objects.filter(enterprise_id=unit, is_active=True).order_by(
                    "name"
                ),
                "permits": Permit.objects.filter(enterprise_id=unit).order_by("kind", "number"),
            },
        )
        self._posted: list[forms.Form] = []

    def initial_items(self, provisions: list[LegalProvision]) -> list[dict[str, Any]]:
        return []

    def is_valid(self) -> bool:
        own = super().is_valid()
        return self.penalties.is_valid() and own

    def items(self) -> list[dict[str, Any]]:
        """The filled-in, not removed items, in order (remembered to place service errors)."""
        initial = self.penalties.initial_form_count()
        self._posted = [
            f
            for index, f in enumerate(self.penalties.forms)
            if f.cleaned_data
            and not f.cleaned_data.get("DELETE")
            # A blank extra row is no item; a row given back as it was (the notified penalty
            # on the decision form) is one.
            and (index < initial or f.has_changed())
        ]
        return [cast(PenaltyItemForm, f).item() for f in self._posted]

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, errors in exc.message_dict.items():
            match = ITEM_KEY.match(key)
            if match and int(match.group(1)) < len(self._posted):
                target = self._posted[int(match.group(1))]
                field = match.group(2)
                target.add_error(field if field in target.fields else None, errors)
                # The step form shows a summary too: a long formset hides the item's errors.
                self.add_error(None, errors)
            elif key.startswith("items") or key not in self.fields:
                self.add_error(None, errors)
            else:
                self.add_error(key, errors)


class NotifyForm(PenaltiesForm):
    def initial_items(self, provisions: list[LegalProvision]) -> list[dict[str, Any]]:
        existing = [item_initial(i) for i in self.case.penalties.all()]
        if existing:
            return existing
        if len(provisions) == 1 and PenaltyKind.FINE in provisions[0].allowed_kinds:
            return [{"provision": provisions[0].pk, "kind": PenaltyKind.FINE}]
        return []

    def run(self, actor: User) -> Any:
        return services.case_notify(
            actor=actor, case=self.case, items=self.items(), note=self.cleaned_data["note"]
        )


class DecideForm(PenaltiesForm):
    """The decision keeps the notified penalty unless the items are changed (lightened)."""

    extra = 0

    def initial_items(self, provisions: list[LegalProvision]) -> list[dict[str, Any]]:
        return [item_initial(i) for i in self.case.penalties.all()]

    def run(self, actor: User) -> Any:
        items = self.items()
        notified = [item_initial(i) for i in self.case.penalties.all()]
        same = len(items) == len(notified) and all(
            _same_item(a, b) for a, b in zip(items, notified, strict=True)
        )
        return services.case_decide(
            actor=actor,
            case=self.case,
            items=None if same else items,
            note=self.cleaned_data["note"],
        )


def _same_item(posted: dict[str, Any], notified: dict[str, Any]) -> bool:
    for key, value in notified.items():
        mine = posted.get(key)
        mine = getattr(mine, "pk", mine)
        if (mine or None) != (value or None):
            return False
    return True


# --- the party's defence and the hearing ----------------------------------------------------------
class DefenceForm(StepForm):
    statement = forms.CharField(
        label=_("Statement of the party"),
        required=False,
        widget=forms.Textarea(attrs=TEXT),
    )
    hearing_requested = forms.BooleanField(label=_("The party requests a hearing"), required=False)
    waived = forms.BooleanField(
        label=_("The party waives the defence period in writing"), required=False
    )
    uploads = MultipleFileField(label=_("Signed statement, request or waiver (PDF or photo)"))

    def run(self, actor: User) -> Any:
        data = self.cleaned_data
        return services.case_record_defence(
            actor=actor,
            case=self.case,
            statement=data["statement"],
            hearing_requested=data["hearing_requested"],
            waived=data["waived"],
            files=data["uploads"],
        )


class HearingForm(StepForm):
    held_on = forms.DateField(label=_("Held on"), widget=DatePicker())
    record = forms.CharField(
        label=_("What the hearing established"),
        required=False,
        widget=forms.Textarea(attrs=TEXT),
    )
    uploads = MultipleFileField(label=_("Hearing record (PDF or photo)"))

    def run(self, actor: User) -> Any:
        data = self.cleaned_data
        return services.case_record_hearing(
            actor=actor,
            case=self.case,
            held_on=data["held_on"],
            record=data["record"],
            files=data["uploads"],
        )


# --- payment, files, review -----------------------------------------------------------------------
class PaymentForm(StepForm):
    item = ObjectChoiceField(label=_("Fine"))
    paid_on = forms.DateField(label=_("Paid on"), widget=DatePicker())
    receipt_number = forms.CharField(label=_("Receipt number"), required=False, max_length=60)
    uploads = MultipleFileField(label=_("Receipt (PDF or photo)"))

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, case=case, **kwargs)
        fines = [i for i in case.penalties.all() if i.is_fine and i.paid_on is None]
        field = cast(ObjectChoiceField, self.fields["item"])
        field.set_objects(fines, _fine_label)
        if len(fines) == 1:
            self.initial.setdefault("item", fines[0].pk)
        self.initial.setdefault("paid_on", timezone.localdate())

    def run(self, actor: User) -> Any:
        data = self.cleaned_data
        return services.case_record_payment(
            actor=actor,
            case=self.case,
            item=data["item"],
            paid_on=data["paid_on"],
            receipt_number=data["receipt_number"],
            files=data["uploads"],
        )


def _fine_label(item: PenaltyItem) -> str:
    who = f" · {item.person.name}" if item.person_id and item.person is not None else ""
    return f"{item.get_kind_display()}{who} · {item.amount or 0:,.2f}"


UPLOAD_KINDS = [
    (value, label)
    for value, label in CaseDocument.Kind.choices
    if value not in CaseDocument.GENERATED
]


class AttachForm(StepForm):
    kind = forms.ChoiceField(
        label=_("Kind of document"), choices=UPLOAD_KINDS, initial=CaseDocument.Kind.EVIDENCE
    )
    uploads = MultipleFileField(label=_("Files (PDF or photo)"))

    def run(self, actor: User) -> Any:
        data = self.cleaned_data
        return services.case_attach(
            actor=actor, case=self.case, files=data["uploads"], kind=data["kind"]
        )


class ReviewForm(StepForm):
    facts_clear = forms.BooleanField(label=_("Facts clear"), required=False)
    evidence_sufficient = forms.BooleanField(label=_("Evidence sufficient"), required=False)
    procedure_lawful = forms.BooleanField(label=_("Procedure lawful"), required=False)
    basis_correct = forms.BooleanField(label=_("Legal basis correct"), required=False)
    penalty_appropriate = forms.BooleanField(label=_("Penalty appropriate"), required=False)
    documents_complete = forms.BooleanField(label=_("Documents complete"), required=False)
    score = forms.IntegerField(
        label=_("Score (0–100)"),
        min_value=0,
        max_value=100,
        help_text=_("A model case needs 90 points and every criterion met."),
    )
    comments = forms.CharField(
        label=_("Comments"), required=False, widget=forms.Textarea(attrs=NOTE)
    )

    def run(self, actor: User) -> Any:
        data = {name: self.cleaned_data[name] for name in (*CaseReview.CRITERIA, "score")}
        data["comments"] = self.cleaned_data["comments"]
        return services.case_review(actor=actor, case=self.case, data=data)
