"""API shapes of internal reports: strictly typed inputs (JSON, and multipart for photos) and
outputs for the unit's queue, the bureau and the public receipt holder.

The reporter's identity appears in no shape here but `IdentityOutput`, which only the `reporter/`
action (services.identity_reveal: permission-checked and audited) fills. What the unit's staff
learn about the reporter is one flag, `reporter.disclosed` (named and consented); regulators see
whether the report is anonymous and whether they may look the reporter up.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.core.api.serializers import StrictCharField, StrictDecimalField
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.serializers import (
    StrictIdMixin,
    StrictIntegerField,
    VisiblePersonField,
    VisibleSiteField,
    working_days_field,
)
from weibao.inspections.serializers.common import StrictBooleanField
from weibao.registry.models import Site
from weibao.reporting import services
from weibao.reporting.models import (
    InternalReport,
    ReportCategory,
    ReportChannel,
    ReporterIdentity,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
)
from weibao.reporting.rules import may_handle_complaint, may_see_identity, may_verify

DESCRIPTION_MAX = services.DESCRIPTION_MAX
NOTE_MAX = services.NOTE_MAX
LOCATION_MAX = 200
NAME_MAX = 100
PHONE_MAX = 40
TOKEN_MAX = 64

# Every name `allowed_actions` may list: the verification steps, then the bureau's.
ACTION_CHOICES = [(name, name) for name in (*services.ACTIONS.values(), "handle-complaint")]


def user_actions(user: Any, report: InternalReport) -> list[str]:
    """What the caller may do now: the unit's managers the steps the status allows; a
    supervising regulator the handling of an open complaint. Reads only the row and the user."""
    steps = services.allowed_actions(report) if may_verify(user, report) else []
    # In the life cycle's order (the state machine lists them in no fixed order).
    actions = [name for name, _label in ACTION_CHOICES if name in steps]
    if report.complaint_open and may_handle_complaint(user, report):
        actions.append("handle-complaint")
    return actions


def public_link(request: Any, token: str) -> str:
    path = reverse("report-public", args=[token])
    return str(request.build_absolute_uri(path)) if request is not None else path


# --- small references ---------------------------------------------------------------------------
class EnterpriseRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uscc = serializers.CharField()


class SiteRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReferenceOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class OptionalReportStatusField(serializers.ChoiceField):
    """A status code, or null where a step has none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ReportStatus.choices, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return value or None


# --- reports ------------------------------------------------------------------------------------
class ReportOutput(serializers.ModelSerializer[InternalReport]):
    reference = serializers.CharField(help_text="NB + year + number, e.g. NB2026-000012")
    enterprise = EnterpriseRefOutput()
    jurisdiction = serializers.CharField(
        source="enterprise.jurisdiction_id", help_text="division code (GB/T 2260)"
    )
    via_display = serializers.CharField(source="get_via_display")
    category_display = serializers.CharField(source="get_category_display")
    site = SiteRefOutput(allow_null=True)
    status_display = serializers.CharField(source="get_status_display")
    overdue = serializers.BooleanField(
        source="is_overdue", help_text="still unverified past the unit's time limit"
    )
    verified_in_time = serializers.BooleanField(
        allow_null=True, help_text="decided within the time limit; null while undecided"
    )
    complaint_open = serializers.BooleanField(
        help_text="raised to the bureau by the reporter and not yet handled"
    )
    duplicate_of = ReferenceOutput(allow_null=True)
    hazard = ReferenceOutput(allow_null=True, help_text="the hazard a confirmation recorded")
    allowed_actions = serializers.SerializerMethodField(
        help_text="what you may do now: start, confirm, reject, duplicate, reward "
        "(the unit's principal or safety officer), handle-complaint (the bureau)"
    )

    class Meta:
        model = InternalReport
        fields = [
            "id",
            "reference",
            "enterprise",
            "jurisdiction",
            "via",
            "via_display",
            "category",
            "category_display",
            "site",
            "location",
            "description",
            "status",
            "status_display",
            "submitted_at",
            "verify_by",
            "overdue",
            "decided_on",
            "verified_in_time",
            "reply",
            "duplicate_of",
            "hazard",
            "reward_proposed",
            "reward_amount",
            "reward_paid_on",
            "escalated_at",
            "complaint_open",
            "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=ACTION_CHOICES))
    )
    def get_allowed_actions(self, obj: InternalReport) -> list[str]:
        return user_actions(self.context["request"].user, obj)


class ReportPhotoOutput(serializers.ModelSerializer[ReportPhoto]):
    url = serializers.SerializerMethodField(help_text="download address (signed-in, scoped)")

    class Meta:
        model = ReportPhoto
        fields = ["id", "url", "uploaded_at"]
        read_only_fields = fields

    def get_url(self, obj: ReportPhoto) -> str:
        path = reverse("api:internal-report-photo", args=[obj.report_id, obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ReportEventOutput(serializers.ModelSerializer[ReportEvent]):
    action_display = serializers.CharField(source="get_action_display")
    from_status = OptionalReportStatusField()
    to_status = OptionalReportStatusField()
    by_reporter = serializers.SerializerMethodField(
        help_text="a step the reporter took (reporting, raising it to the bureau): no actor"
    )
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_name = serializers.SerializerMethodField(
        help_text='who took the step; for the reporter\'s own steps only "reporter", never a name'
    )

    class Meta:
        model = ReportEvent
        fields = [
            "id",
            "action",
            "action_display",
            "from_status",
            "to_status",
            "by_reporter",
            "actor",
            "actor_name",
            "at",
            "note",
        ]
        read_only_fields = fields

    def get_by_reporter(self, obj: ReportEvent) -> bool:
        return obj.actor_id is None

    def get_actor_name(self, obj: ReportEvent) -> str:
        return str(obj.actor) if obj.actor is not None else _("reporter")


class ReporterOutput(serializers.Serializer[Any]):
    """About the reporter without naming them: regulators get `anonymous` and `may_reveal`,
    the unit's staff only `disclosed`."""

    anonymous = serializers.BooleanField(
        required=False, help_text="(regulators) the reporter left no name or phone"
    )
    may_reveal = serializers.BooleanField(
        required=False,
        help_text="(regulators) you may look the reporter up at reporter/ (audited)",
    )
    disclosed = serializers.BooleanField(
        required=False,
        help_text="(the unit's staff) the reporter gave a name and agreed the unit may see it",
    )


def reporter_summary(user: Any, report: InternalReport) -> dict[str, bool]:
    if user.is_unit_user:
        disclosed = ReporterIdentity.objects.filter(report_id=report.pk, consent_to_unit=True)
        return {"disclosed": disclosed.exists()}
    return {"anonymous": report.anonymous, "may_reveal": may_see_identity(user, report)}


class ReportDetailOutput(ReportOutput):
    photos = ReportPhotoOutput(many=True)
    events = ReportEventOutput(many=True)
    reporter = serializers.SerializerMethodField()
    complaint_handled_by_name = serializers.SerializerMethodField()

    class Meta(ReportOutput.Meta):
        fields = [
            *ReportOutput.Meta.fields,
            "reward_reference",
            "escalation_note",
            "complaint_reply",
            "complaint_handled_at",
            "complaint_handled_by_name",
            "reporter",
            "photos",
            "events",
        ]
        read_only_fields = fields

    @extend_schema_field(ReporterOutput)
    def get_reporter(self, obj: InternalReport) -> dict[str, bool]:
        return reporter_summary(self.context["request"].user, obj)

    def get_complaint_handled_by_name(self, obj: InternalReport) -> str | None:
        handler = obj.complaint_handled_by
        return str(handler) if handler is not None else None


class ReceiptOutput(serializers.Serializer[Any]):
    """The answer to a report made from an account: the receipt code is shown this once."""

    id = serializers.IntegerField()
    reference = serializers.CharField()
    receipt = serializers.CharField(
        help_text="the code to follow the report on the public status page; shown only here"
    )
    verify_by = serializers.DateField()


class IdentityOutput(serializers.Serializer[Any]):
    name = serializers.CharField()
    phone = serializers.CharField()
    consent_to_unit = serializers.BooleanField()
    account = serializers.IntegerField(
        source="user_id", allow_null=True, help_text="the reporter's account, if they used one"
    )


# --- report inputs ----------------------------------------------------------------------------
LOCATION_HELP = "where, in words (needed when no site is chosen)"
ANONYMOUS_HELP = "report without name or phone (both are then ignored)"
CONSENT_HELP = (
    "the unit's managers may see who reported (otherwise only regulators with an explicit "
    "permission may)"
)


class ReportFields(serializers.Serializer[Any]):
    """What a reporter says, as JSON (strict types)."""

    category = serializers.ChoiceField(choices=ReportCategory.choices)
    location = StrictCharField(
        max_length=LOCATION_MAX, required=False, allow_blank=True, help_text=LOCATION_HELP
    )
    description = StrictCharField(max_length=DESCRIPTION_MAX, help_text="what was seen")
    anonymous = StrictBooleanField(required=False, default=False, help_text=ANONYMOUS_HELP)
    name = StrictCharField(max_length=NAME_MAX, required=False, allow_blank=True)
    phone = StrictCharField(max_length=PHONE_MAX, required=False, allow_blank=True)
    consent_to_unit = StrictBooleanField(required=False, default=False, help_text=CONSENT_HELP)


class ReportFormFields(serializers.Serializer[Any]):
    """The same, from a multipart form (where every value is text)."""

    category = serializers.ChoiceField(choices=ReportCategory.choices)
    location = serializers.CharField(
        max_length=LOCATION_MAX, required=False, allow_blank=True, help_text=LOCATION_HELP
    )
    description = serializers.CharField(max_length=DESCRIPTION_MAX, help_text="what was seen")
    anonymous = serializers.BooleanField(required=False, default=False, help_text=ANONYMOUS_HELP)
    name = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=PHONE_MAX, required=False, allow_blank=True)
    consent_to_unit = serializers.BooleanField(
        required=False, default=False, help_text=CONSENT_HELP
    )
    photos = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="photos (JPEG or PNG; repeat the part for several, at most "
        "settings.REPORT_MAX_PHOTOS); stored re-encoded without metadata (location, device, "
        "owner)",
    )


@extend_schema_field(OpenApiTypes.INT)
class VisibleSiteFormField(serializers.PrimaryKeyRelatedField[Site]):
    """A site the caller may see, from a form."""

    def get_queryset(self) -> Any:
        return Site.objects.visible_to(self.context["request"].user)


class ReportInput(ReportFields):
    """A report from a signed-in member of the unit, about their own unit."""

    site = VisibleSiteField(required=False, allow_null=True, help_text="one of the unit's sites")


class ReportUpload(ReportFormFields):
    site = VisibleSiteFormField(
        required=False, allow_null=True, help_text="one of the unit's sites"
    )


class PublicReportInput(ReportFields):
    """A report through a unit's QR code, without an account."""

    unit_token = StrictCharField(max_length=TOKEN_MAX, help_text="the code in the poster's link")
    site = StrictIntegerField(
        required=False, allow_null=True, help_text="one of the unit's sites (see the channel)"
    )


class PublicReportUpload(ReportFormFields):
    unit_token = serializers.CharField(
        max_length=TOKEN_MAX, help_text="the code in the poster's link"
    )
    site = serializers.IntegerField(
        required=False, allow_null=True, help_text="one of the unit's sites (see the channel)"
    )


# --- step inputs ----------------------------------------------------------------------------
class ReportNoteInput(serializers.Serializer[Any]):
    note = StrictCharField(max_length=NOTE_MAX, required=False, allow_blank=True)


class ConfirmInput(serializers.Serializer[Any]):
    level = serializers.ChoiceField(choices=HazardLevel.choices)
    hazard_category = serializers.ChoiceField(choices=HazardCategory.choices)
    reply = StrictCharField(
        max_length=NOTE_MAX,
        required=False,
        allow_blank=True,
        help_text="the unit's reply, shown to the reporter",
    )
    description = StrictCharField(
        max_length=DESCRIPTION_MAX,
        required=False,
        allow_blank=True,
        help_text="the hazard's description (default: the report's)",
    )
    deadline = serializers.DateField(
        required=False, help_text="the rectification deadline (default: by level)"
    )
    working_days = working_days_field()
    site = VisibleSiteField(required=False, allow_null=True, help_text="default: the report's site")
    responsible_person = VisiblePersonField(required=False, allow_null=True)


class RejectInput(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=NOTE_MAX, help_text="shown to the reporter")


@extend_schema_field(OpenApiTypes.INT)
class VisibleReportField(StrictIdMixin, serializers.PrimaryKeyRelatedField[InternalReport]):
    """A report the caller may see; anything else reads as "does not exist" (no probing)."""

    def get_queryset(self) -> Any:
        return InternalReport.objects.visible_to(self.context["request"].user)


class DuplicateInput(serializers.Serializer[Any]):
    duplicate_of = VisibleReportField(help_text="the earlier report of the same hazard")
    reply = StrictCharField(
        max_length=NOTE_MAX,
        required=False,
        allow_blank=True,
        help_text="shown to the reporter (default: names the earlier report)",
    )


class RewardInput(serializers.Serializer[Any]):
    amount = StrictDecimalField(
        max_digits=10,
        decimal_places=2,
        help_text="yuan, as a decimal string; at most the policy's cap",
    )
    paid_on = serializers.DateField(required=False, help_text="default: today")
    reference = StrictCharField(
        max_length=100, required=False, allow_blank=True, help_text="payment reference"
    )


class ReplyInput(serializers.Serializer[Any]):
    reply = StrictCharField(max_length=NOTE_MAX, help_text="shown to the reporter")


# --- oversight ----------------------------------------------------------------------------
class OversightQuery(serializers.Serializer[Any]):
    start = serializers.DateField(required=False, help_text="reports submitted on or after")
    end = serializers.DateField(required=False, help_text="reports submitted on or before")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and end < start:
            raise serializers.ValidationError({"end": [_("The end is before the start.")]})
        return attrs


class OversightRowOutput(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="the unit's id, or the county's division code")
    # (The serializer metaclass takes declared fields off the class: no clash with Field.label.)
    label = serializers.CharField()  # type: ignore[assignment]
    received = serializers.IntegerField()
    decided = serializers.IntegerField()
    verified_in_time = serializers.IntegerField()
    in_time_rate = serializers.SerializerMethodField(
        help_text="verified in time / decided, as a decimal string (null when none decided)"
    )
    confirmed = serializers.IntegerField()
    rewarded = serializers.IntegerField()
    reward_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    overdue = serializers.IntegerField(help_text="unverified past the time limit now")
    complaints_open = serializers.IntegerField()

    def get_in_time_rate(self, obj: Any) -> str | None:
        rate = obj.in_time_rate
        return None if rate is None else f"{rate:.4f}"


class OversightOutput(serializers.Serializer[Any]):
    units = OversightRowOutput(many=True)
    counties = OversightRowOutput(many=True)
    total = OversightRowOutput()


# --- channels -----------------------------------------------------------------------------
class ChannelOutput(serializers.ModelSerializer[ReportChannel]):
    enterprise = EnterpriseRefOutput()
    link = serializers.SerializerMethodField(
        help_text="the public reporting page the QR poster links to"
    )
    may_change = serializers.SerializerMethodField(
        help_text="you may change the policy and rotate the code"
    )

    class Meta:
        model = ReportChannel
        fields = [
            "id",
            "enterprise",
            "token",
            "link",
            "is_open",
            "reward_general",
            "reward_major",
            "reward_cap",
            "verify_within",
            "verify_in_working_days",
            "payout_instructions",
            "updated_at",
            "may_change",
        ]
        read_only_fields = fields

    def get_link(self, obj: ReportChannel) -> str:
        return public_link(self.context.get("request"), obj.token)

    def get_may_change(self, obj: ReportChannel) -> bool:
        return bool(may_verify(self.context["request"].user, obj))


class ChannelInput(serializers.Serializer[Any]):
    """The unit's reward policy; send only what changes."""

    is_open = StrictBooleanField(required=False, help_text="accepting reports")
    reward_general = StrictDecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    reward_major = StrictDecimalField(max_digits=10, decimal_places=2, min_value=0, required=False)
    reward_cap = StrictDecimalField(max_digits=10, decimal_places=2, min_value=0, required=False)
    verify_within = StrictIntegerField(min_value=1, max_value=60, required=False)
    verify_in_working_days = StrictBooleanField(required=False)
    payout_instructions = StrictCharField(max_length=NOTE_MAX, required=False, allow_blank=True)


# --- public ---------------------------------------------------------------------------------
class PolicyOutput(serializers.Serializer[Any]):
    reward_general = serializers.DecimalField(max_digits=10, decimal_places=2)
    reward_major = serializers.DecimalField(max_digits=10, decimal_places=2)
    reward_cap = serializers.DecimalField(max_digits=10, decimal_places=2)
    verify_within = serializers.IntegerField()
    verify_in_working_days = serializers.BooleanField()
    payout_instructions = serializers.CharField()


class PublicChannelOutput(serializers.Serializer[Any]):
    unit = serializers.CharField()
    is_open = serializers.BooleanField()
    sites = SiteRefOutput(many=True)
    policy = PolicyOutput()


class PublicReceiptOutput(serializers.Serializer[Any]):
    receipt = serializers.CharField(
        help_text="keep it: the only way to follow the report and collect the reward"
    )
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    verify_by = serializers.DateField()


class PublicStatusOutput(serializers.Serializer[Any]):
    reference = serializers.CharField()
    unit = serializers.CharField()
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    status_display = serializers.CharField()
    category = serializers.ChoiceField(choices=ReportCategory.choices)
    category_display = serializers.CharField()
    submitted_on = serializers.DateField()
    verify_by = serializers.DateField()
    overdue = serializers.BooleanField()
    reply = serializers.CharField()
    duplicate_of = serializers.CharField(allow_null=True, help_text="the earlier report's number")
    reward_proposed = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    reward_amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    reward_paid_on = serializers.DateField(allow_null=True)
    payout_instructions = serializers.CharField()
    may_escalate = serializers.BooleanField(
        help_text="the unit's time limit passed without a decision: escalate/ raises it"
    )
    escalated_at = serializers.DateTimeField(allow_null=True)
    complaint_reply = serializers.CharField()
    complaint_handled_at = serializers.DateTimeField(allow_null=True)
