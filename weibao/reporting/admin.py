"""Admin for internal reports: the units' channels and policies, and the reports read-only.

Who made a report is not here, on purpose: system administrators may not see reporters.
`ReporterIdentity` is not registered, no inline or field reaches it, and the receipt hash is
left out. Reports change only through their life cycle (pages and API).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from weibao.reporting.models import InternalReport, ReportChannel, ReportEvent


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReportChannel)
class ReportChannelAdmin(admin.ModelAdmin[ReportChannel]):
    """A unit's reporting code and reward policy. Channels open by themselves the first time a
    unit is asked for one; the code changes only by rotating it (the policy page), which
    retires the printed posters."""

    list_display = [
        "enterprise",
        "is_open",
        "reward_general",
        "reward_major",
        "reward_cap",
        "verify_within",
        "verify_in_working_days",
        "updated_at",
    ]
    list_filter = ["is_open", "verify_in_working_days"]
    search_fields = ["enterprise__name", "enterprise__uscc"]
    list_select_related = ["enterprise"]
    fields = [
        "enterprise",
        "token",
        "is_open",
        "reward_general",
        "reward_major",
        "reward_cap",
        "verify_within",
        "verify_in_working_days",
        "payout_instructions",
        "updated_at",
    ]
    readonly_fields = ["enterprise", "token", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReportEventInline(_ReadOnly, admin.TabularInline[ReportEvent, InternalReport]):
    model = ReportEvent
    fields = ["at", "action", "from_status", "to_status", "actor", "note"]
    readonly_fields = ["at", "action", "from_status", "to_status", "actor", "note"]
    extra = 0
    can_delete = False
    ordering = ["at", "id"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("actor")


REPORT_FIELDS = (
    "reference",
    "enterprise",
    "via",
    "category",
    "site",
    "location",
    "description",
    "status",
    "anonymous",
    "submitted_at",
    "submitted_on",
    "verify_by",
    "reply",
    "duplicate_of",
    "hazard",
    "decided_on",
    "decided_by",
    "reward_proposed",
    "reward_amount",
    "reward_paid_on",
    "reward_reference",
    "rewarded_by",
    "escalated_at",
    "escalation_note",
    "complaint_reply",
    "complaint_handled_at",
    "complaint_handled_by",
    "updated_at",
)


@admin.register(InternalReport)
class InternalReportAdmin(_ReadOnly, admin.ModelAdmin[InternalReport]):
    """Read-only, and without the reporter: see the module docstring."""

    list_display = [
        "reference",
        "enterprise",
        "category",
        "status",
        "submitted_on",
        "verify_by",
        "escalated_at",
    ]
    list_filter = ["status", "category", "via", "anonymous"]
    search_fields = ["enterprise__name", "enterprise__uscc"]
    list_select_related = ["enterprise"]
    date_hierarchy = "submitted_on"
    # Every field but the receipt hash (which must never be shown); nothing of the identity.
    fields = REPORT_FIELDS
    readonly_fields = REPORT_FIELDS
    inlines = [ReportEventInline]
