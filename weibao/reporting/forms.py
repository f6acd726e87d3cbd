"""Forms of the internal-report pages. They only shape input: every rule (categories, where,
photo types and sizes, who may take which step, amounts within the cap) is checked by the
services, whose field-named errors land back on these forms."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from weibao.accounts.models import User
from weibao.core.widgets import DatePicker
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.forms import MultipleFileField
from weibao.registry.forms import jurisdiction_choices
from weibao.registry.models import Enterprise, Person, Site
from weibao.reporting import services
from weibao.reporting.models import (
    CONFIRMED,
    DECIDED,
    UNVERIFIED,
    InternalReport,
    ReportCategory,
    ReportChannel,
    ReportStatus,
    unverified_overdue_q,
)

TEXT = {"rows": 4}
NOTE = {"rows": 2}


def attach_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's validation errors on the fields they name ("photos[1]" → photos, with the
    photo's number); anything else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        field, _sep, index = key.partition("[")
        if index.rstrip("]").isdigit():
            number = int(index.rstrip("]")) + 1
            errors = [
                _("Photo %(number)d: %(error)s") % {"number": number, "error": e} for e in errors
            ]
        form.add_error(field if field in form.fields else None, errors)


# --- reporting a hazard -------------------------------------------------------------------------
class ReportForm(forms.Form):
    """What an employee reports, on the public page (QR code) and from their account. Nothing is
    required here: the service names what is missing, the same way the API does."""

    category = forms.ChoiceField(
        label=_lazy("What kind of hazard?"),
        required=False,
        choices=ReportCategory.choices,
        widget=forms.RadioSelect,
    )
    site = forms.ModelChoiceField(
        label=_lazy("Where?"),
        required=False,
        queryset=Site.objects.none(),
        empty_label=_lazy("Another place (describe it below)"),
    )
    location = forms.CharField(
        label=_lazy("Describe the place"),
        required=False,
        max_length=200,
        help_text=_lazy("For example: behind magazine 3, next to the loading bay."),
    )
    description = forms.CharField(
        label=_lazy("What did you see?"),
        required=False,
        max_length=services.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs=TEXT),
    )
    photos = MultipleFileField(label=_lazy("Photos"))
    name = forms.CharField(
        label=_lazy("Your name"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=_lazy("Your phone"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    consent_to_unit = forms.BooleanField(
        label=_lazy("The unit may see my name and phone"),
        required=False,
        help_text=_lazy(
            "Leave this unticked and only you (and, if needed, the county bureau) know who "
            "reported."
        ),
    )

    def __init__(self, *args: Any, enterprise: Enterprise, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sites = cast(forms.ModelChoiceField, self.fields["site"])  # type: ignore[type-arg]
        sites.queryset = Site.objects.filter(enterprise=enterprise).order_by("name")

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "photos"}


class AccountReportForm(ReportForm):
    """A signed-in employee reports about their own unit: anonymous unless they untick it; a
    named report uses the account's name and is listed under "My reports"."""

    anonymous = forms.BooleanField(
        label=_lazy("Report anonymously"),
        required=False,
        initial=True,
        help_text=_lazy(
            "Anonymous: nothing links the report to your account; follow it with the receipt "
            "code. Untick to report under your name and see it under My reports."
        ),
    )

    field_order = ["category", "site", "location", "description", "photos", "anonymous"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["name"]  # the account's name, when the report is not anonymous


# --- the receipt code -----------------------------------------------------------------------------
class ReceiptForm(forms.Form):
    # Not validated here: a malformed code gets the same answer as an unknown one.
    receipt = forms.CharField(
        label=_lazy("Receipt code"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "XXXX-XXXX-XXXX-XXXX-XXXX",
            }
        ),
    )


class EscalateForm(forms.Form):
    receipt = forms.CharField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(
        label=_lazy("What should the county bureau know? (optional)"),
        required=False,
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs=NOTE),
    )


# --- the queue's filters ------------------------------------------------------------------------
UNVERIFIED_STATUS = "unverified"
CONFIRMED_STATUS = "accepted"


class ReportFilterForm(forms.Form):
    # The names are the export's parameters too, and the home tiles and the oversight table link
    # here with them (status=unverified, overdue=true, complaint=open, enterprise=…).
    jurisdiction = forms.ChoiceField(label=_lazy("County"), required=False)
    enterprise = forms.ModelChoiceField(
        label=_lazy("Unit"),
        required=False,
        queryset=Enterprise.objects.none(),
        empty_label=_lazy("All units"),
    )
    status = forms.ChoiceField(
        label=_lazy("Status"),
        required=False,
        choices=[
            ("", _lazy("Any status")),
            (UNVERIFIED_STATUS, _lazy("Waiting for verification")),
            *ReportStatus.choices,
            (CONFIRMED_STATUS, _lazy("Confirmed or rewarded")),
        ],
    )
    category = forms.ChoiceField(
        label=_lazy("Category"),
        required=False,
        choices=[("", _lazy("Any category")), *ReportCategory.choices],
    )
    overdue = forms.ChoiceField(
        label=_lazy("Past the time limit"),
        required=False,
        choices=[("", _lazy("Any")), ("true", _lazy("Unverified past the limit"))],
    )
    in_time = forms.ChoiceField(
        label=_lazy("Verified"),
        required=False,
        choices=[
            ("", _lazy("Any")),
            ("true", _lazy("Decided within the limit")),
            ("false", _lazy("Decided after the limit")),
        ],
    )
    complaint = forms.ChoiceField(
        label=_lazy("Raised to the bureau"),
        required=False,
        choices=[
            ("", _lazy("Any")),
            ("open", _lazy("Complaint open")),
            ("any", _lazy("Raised (open or handled)")),
        ],
    )
    submitted_from = forms.DateField(
        label=_lazy("Reported from"), required=False, widget=DatePicker()
    )
    submitted_to = forms.DateField(
        label=_lazy("Reported until"), required=False, widget=DatePicker()
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        counties = jurisdiction_choices(user) if not user.is_unit_user else []
        if len(counties) > 1:
            field = cast(forms.ChoiceField, self.fields["jurisdiction"])
            field.choices = [("", _lazy("All counties")), *counties]
        else:
            del self.fields["jurisdiction"]  # a county officer or a unit: one county only
        if user.is_unit_user:
            del self.fields["enterprise"]  # a unit's queue is its own
        else:
            units = cast(forms.ModelChoiceField, self.fields["enterprise"])  # type: ignore[type-arg]
            units.queryset = Enterprise.objects.visible_to(user).order_by("name")

    def filter_q(self, today: date) -> Q:
        """Every filter but the status (the status counts are of the rows these leave)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        q = Q()
        if data.get("jurisdiction"):
            q &= Q(enterprise__jurisdiction_id=data["jurisdiction"])
        if data.get("enterprise") is not None:
            q &= Q(enterprise=data["enterprise"])
        if data.get("category"):
            q &= Q(category=data["category"])
        if data.get("overdue") == "true":
            q &= unverified_overdue_q(today)
        if data.get("in_time") in ("true", "false"):
            timely = Q(decided_on__lte=F("verify_by"))
            q &= Q(status__in=DECIDED) & (timely if data["in_time"] == "true" else ~timely)
        if data.get("complaint") == "open":
            q &= Q(escalated_at__isnull=False, complaint_handled_at__isnull=True)
        elif data.get("complaint") == "any":
            q &= Q(escalated_at__isnull=False)
        if data.get("submitted_from"):
            q &= Q(submitted_on__gte=data["submitted_from"])
        if data.get("submitted_to"):
            q &= Q(submitted_on__lte=data["submitted_to"])
        return q

    def status_q(self) -> Q:
        status = self.cleaned_data.get("status", "") if self.is_bound and self.is_valid() else ""
        if status == UNVERIFIED_STATUS:
            return Q(status__in=UNVERIFIED)
        if status == CONFIRMED_STATUS:
            return Q(status__in=CONFIRMED)
        return Q(status=status) if status else Q()


# --- the unit's steps ---------------------------------------------------------------------------
# Each step form calls its service with `run(actor)`. The services are atomic: a refusal writes
# nothing.
class StepForm(forms.Form):
    def __init__(self, *args: Any, report: InternalReport, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.report = report

    def run(self, actor: User) -> None:
        raise NotImplementedError


class StartForm(StepForm):
    def run(self, actor: User) -> None:
        services.report_start(actor=actor, report=self.report)


# The ledger's category a report's category most often becomes (the unit may choose another).
CATEGORY_HINT: dict[str, str] = {
    ReportCategory.UNSAFE_ACT: HazardCategory.OPERATION,
    ReportCategory.UNSAFE_EQUIPMENT: HazardCategory.EQUIPMENT,
    ReportCategory.UNSAFE_ENVIRONMENT: HazardCategory.ENVIRONMENT,
    ReportCategory.MANAGEMENT_GAP: HazardCategory.MANAGEMENT,
}


class ConfirmForm(StepForm):
    level = forms.ChoiceField(
        label=_lazy("Hazard level"), choices=HazardLevel.choices, widget=forms.RadioSelect
    )
    hazard_category = forms.ChoiceField(
        label=_lazy("Hazard category"), choices=[("", "---------"), *HazardCategory.choices]
    )
    reply = forms.CharField(
        label=_lazy("Reply to the reporter"),
        required=False,
        widget=forms.Textarea(attrs=NOTE),
        help_text=_lazy("The reporter reads this on the status page."),
    )
    description = forms.CharField(
        label=_lazy("Hazard description for the ledger"),
        required=False,
        widget=forms.Textarea(attrs=NOTE),
        help_text=_lazy("Leave empty to use the report's description."),
    )
    deadline = forms.DateField(
        label=_lazy("Rectification deadline"),
        required=False,
        widget=DatePicker(),
        help_text=_lazy("Leave empty for the default deadline of the level."),
    )
    working_days = forms.IntegerField(
        label=_lazy("or working days"), required=False, min_value=1, max_value=366
    )
    site = forms.ModelChoiceField(
        label=_lazy("Site"),
        required=False,
        queryset=Site.objects.none(),
        empty_label=_lazy("As reported"),
    )
    responsible_person = forms.ModelChoiceField(
        label=_lazy("Responsible person"),
        required=False,
        queryset=Person.objects.none(),
        empty_label=_lazy("Not named yet"),
    )

    def __init__(self, *args: Any, report: InternalReport, **kwargs: Any) -> None:
        super().__init__(*args, report=report, **kwargs)
        self.fields["level"].required = False
        self.fields["hazard_category"].required = False
        self.initial.setdefault("hazard_category", CATEGORY_HINT.get(report.category, ""))
        sites = cast(forms.ModelChoiceField, self.fields["site"])  # type: ignore[type-arg]
        sites.queryset = Site.objects.filter(enterprise_id=report.enterprise_id).order_by("name")
        people = cast(forms.ModelChoiceField, self.fields["responsible_person"])  # type: ignore[type-arg]
        people.queryset = Person.objects.filter(
            enterprise_id=report.enterprise_id, is_active=True
        ).order_by("name")

    def run(self, actor: User) -> None:
        data = self.cleaned_data
        services.report_confirm(
            actor=actor,
            report=self.report,
            level=data["level"],
            hazard_category=data["hazard_category"],
            reply=data["reply"],
            description=data["description"],
            deadline=data["deadline"],
            working_days=data["working_days"],
            site=data["site"],
            responsible_person=data["responsible_person"],
        )


class RejectForm(StepForm):
    reason = forms.CharField(
        label=_lazy("Reason (the reporter reads it)"),
        required=False,
        widget=forms.Textarea(attrs=NOTE),
    )

    def run(self, actor: User) -> None:
        services.report_reject(actor=actor, report=self.report, reason=self.cleaned_data["reason"])


class ReportChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return _("%(reference)s · %(date)s · %(text)s") % {
            "reference": obj.reference,
            "date": obj.submitted_on.isoformat(),
            "text": obj.description[:40],
        }


# How far back the duplicate form offers earlier reports (older ones: the API takes any id).
DUPLICATE_WINDOW_DAYS = 365


class DuplicateForm(StepForm):
    duplicate_of = ReportChoiceField(
        label=_lazy("The earlier report of the same hazard"),
        queryset=InternalReport.objects.none(),
        required=False,
    )
    reply = forms.CharField(
        label=_lazy("Reply to the reporter"),
        required=False,
        widget=forms.Textarea(attrs=NOTE),
        help_text=_lazy("Leave empty to tell them the earlier report's number."),
    )

    def __init__(self, *args: Any, report: InternalReport, **kwargs: Any) -> None:
        super().__init__(*args, report=report, **kwargs)
        earlier = cast(ReportChoiceField, self.fields["duplicate_of"])
        earlier.queryset = (
            InternalReport.objects.filter(
                enterprise_id=report.enterprise_id,
                submitted_at__lte=report.submitted_at,
                submitted_on__gte=report.submitted_on - timedelta(days=DUPLICATE_WINDOW_DAYS),
            )
            .exclude(pk=report.pk)
            .order_by("-submitted_at", "-id")
        )

    def clean_duplicate_of(self) -> InternalReport:
        original = self.cleaned_data.get("duplicate_of")
        if original is None:
            raise ValidationError(_("Choose the earlier report."))
        return cast(InternalReport, original)

    def run(self, actor: User) -> None:
        services.report_mark_duplicate(
            actor=actor,
            report=self.report,
            original=self.cleaned_data["duplicate_of"],
            reply=self.cleaned_data["reply"],
        )


class RewardForm(StepForm):
    amount = forms.DecimalField(
        label=_lazy("Amount paid (yuan)"),
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=2,
    )
    paid_on = forms.DateField(label=_lazy("Paid on"), required=False, widget=DatePicker())
    reference = forms.CharField(label=_lazy("Payment reference"), required=False, max_length=100)

    def __init__(self, *args: Any, report: InternalReport, **kwargs: Any) -> None:
        super().__init__(*args, report=report, **kwargs)
        self.initial.setdefault("amount", report.reward_proposed)
        self.initial.setdefault("paid_on", timezone.localdate())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Enter the amount paid."))
        if data.get("paid_on") is None and "paid_on" not in self.errors:
            self.add_error("paid_on", _("Enter the date it was paid."))
        return data

    def run(self, actor: User) -> None:
        data = self.cleaned_data
        services.report_reward(
            actor=actor,
            report=self.report,
            amount=data["amount"],
            paid_on=data["paid_on"],
            reference=data["reference"],
        )


class ComplaintForm(StepForm):
    reply = forms.CharField(
        label=_lazy("The bureau's reply (the reporter reads it)"),
        required=False,
        widget=forms.Textarea(attrs=NOTE),
    )

    def run(self, actor: User) -> None:
        services.report_handle_complaint(
            actor=actor, report=self.report, reply=self.cleaned_data["reply"]
        )


# --- the policy ---------------------------------------------------------------------------------
class PolicyForm(forms.ModelForm[ReportChannel]):
    class Meta:
        model = ReportChannel
        fields = list(services.POLICY_FIELDS)
        widgets = {"payout_instructions": forms.Textarea(attrs=NOTE)}

    def _post_clean(self) -> None:
        pass  # the service validates the policy (the cap, the limits) inside its transaction


class RotateForm(forms.Form):
    confirm = forms.BooleanField(
        label=_lazy("I understand that posters with the current code stop working"),
        required=True,
        error_messages={"required": _lazy("Tick the box to confirm.")},
    )


# --- oversight ----------------------------------------------------------------------------------
class PeriodForm(forms.Form):
    start = forms.DateField(label=_lazy("Reported from"), required=False, widget=DatePicker())
    end = forms.DateField(label=_lazy("Reported until"), required=False, widget=DatePicker())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["start"].initial = today.replace(month=1, day=1)
        self.fields["end"].initial = today

    def period(self) -> tuple[date | None, date | None]:
        """The period chosen, this year so far by default."""
        if not self.is_bound:
            return self.fields["start"].initial, self.fields["end"].initial
        if not self.is_valid():
            return None, None
        start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        if start and end and start > end:
            self.add_error("end", _("The end of the period is before its start."))
            return None, None
        return start, end
