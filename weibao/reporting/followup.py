"""The daily follow-up of internal reports: remind the unit on the day its time limit for
verification ends, and tell the unit and its county bureau about reports left past the limit.

Set-based like the hazard follow-up (whose helpers it reuses): a fixed number of queries however
many reports there are. Idempotent per day: `reminded_on` and `overdue_since` record what was
sent. Notifications name the report and the unit, never the reporter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from weibao.core.models import Notification
from weibao.hazards.followup import _county_regulators, _deliver, _managers, _note
from weibao.registry.models import jurisdiction_prefix
from weibao.reporting.models import UNVERIFIED, InternalReport, unverified_overdue_q

logger = logging.getLogger(__name__)

QUEUE_URL = "/reports/?overdue=false"
OVERDUE_URL = "/reports/?overdue=true"


@dataclass
class ReportFollowupResult:
    due_today: int = 0  # reports whose time limit ends today (units reminded)
    overdue: int = 0  # reports found past the limit for the first time
    units: int = 0
    notifications: int = 0


def _remind(today: date, result: ReportFollowupResult, notes: list[Notification]) -> None:
    due = InternalReport.objects.filter(status__in=UNVERIFIED, verify_by=today).filter(
        Q(reminded_on__isnull=True) | Q(reminded_on__lt=today)
    )
    units = list(
        due.order_by()
        .values_list("enterprise_id", "enterprise__name")
        .annotate(count=Count("pk"))
        .order_by("enterprise_id")
    )
    if not units:
        return
    managers = _managers(due.values("enterprise_id"))
    result.due_today = due.update(reminded_on=today)
    for unit_id, unit_name, count in units:
        params = {"unit": unit_name, "count": count, "date": today.isoformat()}
        notes.extend(
            _note(uid, "report.due_today", params, QUEUE_URL) for uid in managers.get(unit_id, [])
        )


def _mark_overdue(today: date, result: ReportFollowupResult, notes: list[Notification]) -> None:
    newly = InternalReport.objects.filter(unverified_overdue_q(today), overdue_since__isnull=True)
    units = list(
        newly.order_by()
        .values_list("enterprise_id", "enterprise__name", "enterprise__jurisdiction_id")
        .annotate(count=Count("pk"))
        .order_by("enterprise_id")
    )
    if not units:
        return
    managers = _managers(newly.values("enterprise_id"))
    # A derived flag set with UPDATE, like the hazards' overdue_since: the notifications below
    # are the record that the unit and the county were told.
    result.overdue = newly.update(overdue_since=today)
    result.units = len(units)
    day = today.isoformat()
    for unit_id, unit_name, _code, count in units:
        params = {"unit": unit_name, "count": count, "date": day}
        notes.extend(
            _note(uid, "report.overdue_unit", params, OVERDUE_URL)
            for uid in managers.get(unit_id, [])
        )
    for code, (name, user_ids) in _county_regulators().items():
        prefix = jurisdiction_prefix(code)
        inside = [count for _id, _name, unit_code, count in units if unit_code.startswith(prefix)]
        if not inside:
            continue
        params = {"area": name, "count": sum(inside), "units": len(inside), "date": day}
        notes.extend(_note(uid, "report.overdue_county", params, OVERDUE_URL) for uid in user_ids)


def run_report_followup(today: date | None = None) -> ReportFollowupResult:
    today = today or timezone.localdate()
    result = ReportFollowupResult()
    notes: list[Notification] = []
    with transaction.atomic():
        _remind(today, result, notes)
        _mark_overdue(today, result, notes)
        result.notifications = _deliver(notes)
    logger.info("internal-report follow-up for %s: %s", today, result)
    return result
