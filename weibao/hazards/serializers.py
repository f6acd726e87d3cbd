"""API shapes of the hazard ledger: inputs (strictly typed, scoped) and outputs (list and detail).

`allowed_actions` on every hazard says what the caller may do now: the life-cycle steps its
status allows (services.allowed_actions), filtered by the rules permissions, plus the side steps
(plan, attachments, follow-up). It reads nothing but the row and the user, so a page of hazards
costs no extra query.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.core.api.serializers import InputModelSerializer, StrictCharField
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.models import (
    PENDING,
    Hazard,
    HazardAttachment,
    HazardEvent,
    HazardStatus,
    TreatmentPlan,
)
from weibao.hazards.selectors import ACTION_ORDER, user_actions
from weibao.registry.models import Enterprise, Person, Site

# Every action name `allowed_actions` may list (the life-cycle steps first, as the 409 lists them).
ACTION_CHOICES = [(action, action) for action in ACTION_ORDER]

MAX_TEXT = 4000
MAX_FILES = 20
MAX_WORKING_DAYS = 365


# --- outputs --------------------------------------------------------------------------------------
class InspectionRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()


class InternalReportRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class OptionalStatusField(serializers.ChoiceField):
    """A status code, or null where a step has none (blank in the table)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=HazardStatus.choices, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return value or None


class HazardOutput(serializers.ModelSerializer[Hazard]):
    reference = serializers.CharField()
    enterprise = serializers.IntegerField(source="enterprise_id")
    enterprise_name = serializers.CharField(source="enterprise.name")
    uscc = serializers.CharField(source="enterprise.uscc")
    jurisdiction = serializers.CharField(
        source="enterprise.jurisdiction_id", help_text="division code (GB/T 2260)"
    )
    site = serializers.IntegerField(source="site_id", allow_null=True)
    site_name = serializers.CharField(source="site.name", allow_null=True)
    source_display = serializers.CharField(source="get_source_display")
    level_display = serializers.CharField(source="get_level_display")
    category_display = serializers.CharField(source="get_category_display")
    status_display = serializers.CharField(source="get_status_display")
    overdue = serializers.BooleanField(
        source="is_overdue",
        help_text="past the deadline with the unit's work not handed in (open or rectifying)",
    )
    days_left = serializers.SerializerMethodField(
        help_text="days until the deadline while the unit's work is owed and not late; else null"
    )
    days_overdue = serializers.SerializerMethodField(
        help_text="days past the deadline while overdue; else null"
    )
    responsible_person = serializers.IntegerField(source="responsible_person_id", allow_null=True)
    responsible_person_name = serializers.CharField(
        source="responsible_person.name", allow_null=True
    )
    inspection = InspectionRefOutput(allow_null=True)
    allowed_actions = serializers.SerializerMethodField(
        help_text="what you may do now: life-cycle steps (start, submit-rectification, accept, "
        "reject, extend, cancel) and side steps (plan, attachments, follow-up)"
    )

    class Meta:
        model = Hazard
        fields = [
            "id",
            "reference",
            "enterprise",
            "enterprise_name",
            "uscc",
            "jurisdiction",
            "site",
            "site_name",
            "source",
            "source_display",
            "level",
            "level_display",
            "category",
            "category_display",
            "description",
            "legal_basis",
            "found_on",
            "deadline",
            "overdue",
            "days_left",
            "days_overdue",
            "responsible_person",
            "responsible_person_name",
            "status",
            "status_display",
            "allowed_actions",
            "inspection",
            "extension_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _days(self, obj: Hazard) -> int | None:
        if obj.status not in PENDING:
            return None
        return (obj.deadline - timezone.localdate()).days

    def get_days_left(self, obj: Hazard) -> int | None:
        days = self._days(obj)
        return days if days is not None and days >= 0 else None

    def get_days_overdue(self, obj: Hazard) -> int | None:
        days = self._days(obj)
        return -days if days is not None and days < 0 else None

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=ACTION_CHOICES))
    )
    def get_allowed_actions(self, obj: Hazard) -> list[str]:
        return user_actions(self.context["request"].user, obj)


class PlanOutput(serializers.ModelSerializer[TreatmentPlan]):
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
            "updated_at",
        ]
        read_only_fields = fields


class EventOutput(serializers.ModelSerializer[HazardEvent]):
    action_display = serializers.CharField(source="get_action_display")
    from_status = OptionalStatusField()
    to_status = OptionalStatusField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_name = serializers.SerializerMethodField()
    # (The serializer metaclass takes declared fields off the class: no clash with .data.)
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="step details, e.g. an extension's from/to dates and city_approved"
    )

    class Meta:
        model = HazardEvent
        fields = [
            "id",
            "action",
            "action_display",
            "from_status",
            "to_status",
            "actor",
            "actor_name",
            "at",
            "note",
            "data",
        ]
        read_only_fields = fields

    def get_actor_name(self, obj: HazardEvent) -> str | None:
        return str(obj.actor) if obj.actor is not None else None


class AttachmentOutput(serializers.ModelSerializer[HazardAttachment]):
    stage_display = serializers.CharField(source="get_stage_display")
    url = serializers.SerializerMethodField(help_text="download address (signed-in, scoped)")
    uploaded_by_name = serializers.SerializerMethodField()

    class Meta:
        model = HazardAttachment
        fields = [
            "id",
            "stage",
            "stage_display",
            "kind",
            "name",
            "url",
            "uploaded_by_name",
            "uploaded_at",
        ]
        read_only_fields = fields

    def get_url(self, obj: HazardAttachment) -> str:
        path = reverse("api:hazard-attachment-file", args=[obj.hazard_id, obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_uploaded_by_name(self, obj: HazardAttachment) -> str:
        return str(obj.uploaded_by)


class HazardDetailOutput(HazardOutput):
    plan = serializers.SerializerMethodField()
    events = EventOutput(many=True)
    attachments = AttachmentOutput(many=True)
    accepted_by = serializers.IntegerField(source="accepted_by_id", allow_null=True)
    accepted_by_name = serializers.SerializerMethodField()
    internal_report = serializers.SerializerMethodField(
        help_text="the employee's internal report this hazard was confirmed from (source "
        "internal_report); else null"
    )

    class Meta(HazardOutput.Meta):
        fields = [
            *HazardOutput.Meta.fields,
            "internal_report",
            "plan",
            "rectification_note",
            "rectified_on",
            "accepted_by",
            "accepted_by_name",
            "accepted_on",
            "acceptance_opinion",
            "cancel_reason",
            "events",
            "attachments",
        ]
        read_only_fields = fields

    @extend_schema_field(PlanOutput(allow_null=True))
    def get_plan(self, obj: Hazard) -> dict[str, Any] | None:
        plan = getattr(obj, "plan", None)
        return PlanOutput(plan).data if plan is not None else None

    def get_accepted_by_name(self, obj: Hazard) -> str | None:
        return str(obj.accepted_by) if obj.accepted_by is not None else None

    @extend_schema_field(InternalReportRefOutput(allow_null=True))
    def get_internal_report(self, obj: Hazard) -> dict[str, Any] | None:
        # Only the number: who reported it stays with the report (never on the hazard).
        if obj.source != Hazard.Source.INTERNAL_REPORT:
            return None
        report = getattr(obj, "internal_report", None)
        return None if report is None else {"id": report.pk, "reference": report.reference}


class FollowUpOutput(serializers.Serializer[Any]):
    inspection = serializers.IntegerField(help_text="the draft follow-up inspection")


# --- inputs ---------------------------------------------------------------------------------------
class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "5", 5.0 and true are refused (DRF would take them)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictIdMixin:
    """A row id given as a JSON integer (not "5")."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


@extend_schema_field(OpenApiTypes.INT)
class VisibleEnterpriseField(StrictIdMixin, serializers.PrimaryKeyRelatedField[Enterprise]):
    """A unit the caller may see; anything else reads as "does not exist" (no probing)."""

    def get_queryset(self) -> Any:
        return Enterprise.objects.visible_to(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleEnterpriseQueryField(serializers.PrimaryKeyRelatedField[Enterprise]):
    """The same, from a query string (where every value is text)."""

    def get_queryset(self) -> Any:
        return Enterprise.objects.visible_to(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleSiteField(StrictIdMixin, serializers.PrimaryKeyRelatedField[Site]):
    def get_queryset(self) -> Any:
        return Site.objects.visible_to(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisiblePersonField(StrictIdMixin, serializers.PrimaryKeyRelatedField[Person]):
    def get_queryset(self) -> Any:
        return Person.objects.visible_to(self.context["request"].user)


def working_days_field() -> StrictIntegerField:
    return StrictIntegerField(
        required=False,
        min_value=1,
        max_value=MAX_WORKING_DAYS,
        help_text="instead of a date: this many working days (chinese-calendar) from today",
    )


class HazardInput(serializers.Serializer[Any]):
    enterprise = VisibleEnterpriseField()
    site = VisibleSiteField(required=False, allow_null=True)
    # (The serializer metaclass takes declared fields off the class: no clash with Field.source.)
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Hazard.Source.choices,
        required=False,
        help_text="default: self_inspection for a unit, inspection for a regulator",
    )
    level = serializers.ChoiceField(choices=HazardLevel.choices)
    category = serializers.ChoiceField(choices=HazardCategory.choices)
    description = StrictCharField(max_length=MAX_TEXT)
    legal_basis = StrictCharField(max_length=300, required=False, allow_blank=True)
    found_on = serializers.DateField(required=False, help_text="default: today")
    deadline = serializers.DateField(
        required=False,
        help_text="default: by level (settings.HAZARD_DEADLINES); or give working_days",
    )
    working_days = working_days_field()
    responsible_person = VisiblePersonField(required=False, allow_null=True)


class PlanInput(InputModelSerializer):
    """重大隐患治理方案: the five elements (measures, funds, deadline, responsible body and person,
    safety measures and emergency plan) are required; objective and materials are optional."""

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
        extra_kwargs: dict[str, Any] = {"funds": {"min_value": 0}}


class StartInput(serializers.Serializer[Any]):
    plan = PlanInput(
        required=False, help_text="the treatment plan, saved first (a major hazard needs one)"
    )


class RectificationInput(serializers.Serializer[Any]):
    note = StrictCharField(max_length=MAX_TEXT, help_text="what was done to remove the hazard")


def files_field(required: bool) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(),
        required=required,
        min_length=1 if required else 0,
        max_length=MAX_FILES,
        help_text="photos (JPEG or PNG) or documents (PDF), checked by content and size",
    )


class RectificationUpload(serializers.Serializer[Any]):
    note = serializers.CharField(max_length=MAX_TEXT)
    files = files_field(required=False)


class AcceptInput(serializers.Serializer[Any]):
    opinion = StrictCharField(max_length=MAX_TEXT, required=False, allow_blank=True)


class AcceptUpload(serializers.Serializer[Any]):
    opinion = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True)
    files = files_field(required=False)


class ReasonInput(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=MAX_TEXT)


class ExtendInput(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=MAX_TEXT)
    deadline = serializers.DateField(required=False, help_text="the new deadline")
    working_days = working_days_field()


class FilesUpload(serializers.Serializer[Any]):
    files = files_field(required=True)


class FollowUpInput(serializers.Serializer[Any]):
    planned_on = serializers.DateField(required=False, help_text="default: today")


# --- quarterly statistics -----------------------------------------------------------------------
class StatisticsQuery(serializers.Serializer[Any]):
    year = serializers.IntegerField(required=False, min_value=2000, help_text="default: this year")
    quarter = serializers.IntegerField(
        required=False, min_value=1, max_value=4, help_text="1-4; default: this quarter"
    )
    enterprise = VisibleEnterpriseQueryField(required=False, help_text="one unit only")


class StatisticsRowOutput(serializers.Serializer[Any]):
    enterprise = serializers.IntegerField(source="enterprise_id", allow_null=True)
    name = serializers.CharField()
    uscc = serializers.CharField()
    jurisdiction = serializers.CharField(source="jurisdiction_code")
    is_total = serializers.BooleanField()
    found_total = serializers.IntegerField()
    found_general = serializers.IntegerField()
    found_major = serializers.IntegerField()
    closed = serializers.IntegerField()
    closed_on_time = serializers.IntegerField()
    open_at_end = serializers.IntegerField()
    overdue_at_end = serializers.IntegerField()
    rectification_rate = serializers.SerializerMethodField(
        help_text="closed / found, as a decimal string (null when none were found)"
    )

    def get_rectification_rate(self, obj: Any) -> str | None:
        rate = obj.rectification_rate
        return None if rate is None else f"{rate:.4f}"


class StatisticsOutput(serializers.Serializer[Any]):
    year = serializers.IntegerField()
    quarter = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    rows = StatisticsRowOutput(many=True, help_text="one per unit, then the totals")


def today_quarter() -> tuple[int, int]:
    today: date = timezone.localdate()
    return today.year, (today.month - 1) // 3 + 1
