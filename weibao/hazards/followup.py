"""The daily hazard follow-up (隐患跟踪督办): remind units before a deadline, mark hazards
overdue, and tell the unit and its county bureau.

Runs once a day (`weibao.hazards.tasks.hazard_followup`) over every hazard in the system, so it
is set-based: a fixed number of reads, bulk inserts for events and notifications, and one UPDATE
for the overdue flag. Its query count does not grow with the number of hazards, units or counties
(only the inserts are split into batches by the database's parameter limit).

It is idempotent per day: a hazard reminded today has a REMINDED event dated today, and a hazard
already reported overdue has `overdue_since` set (extending the deadline clears it, so a hazard
that runs late again is reported again).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from weibao.accounts.models import UNIT_MANAGER_ROLES, Role, User
from weibao.core.models import Notification
from weibao.core.notifications import MESSAGES, send_notification_emails
from weibao.hazards.models import PENDING, Hazard, HazardEvent, overdue_q
from weibao.registry.models import jurisdiction_prefix

logger = logging.getLogger(__name__)

OVERDUE_LIST_URL = "/hazards/?overdue=true"
# Recipients per e-mail task: one task per notification would flood the queue on a first run.
EMAIL_BATCH = 500


@dataclass
class FollowupResult:
    due_soon: int = 0  # hazards reminded HAZARD_REMIND_DAYS_BEFORE days ahead
    due_today: int = 0  # hazards reminded on their deadline
    overdue: int = 0  # hazards that became overdue today
    units: int = 0  # units with newly overdue hazards
    notifications: int = 0


def hazard_url(pk: int) -> str:
    """The hazard's page; a literal path because notifications store it as text."""
    return f"/hazards/{pk}/"


def _reference(pk: int, found_on: date) -> str:
    return Hazard(pk=pk, found_on=found_on).reference


def _day_window(today: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(today, time.min))
    return start, timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))


def _moment(today: date) -> datetime:
    """When today's events happened. A catch-up run for another day dates them on that day, so
    the once-a-day check for that day sees them."""
    now = timezone.now()
    if timezone.localdate(now) == today:
        return now
    return timezone.make_aware(datetime.combine(today, timezone.localtime(now).time()))


def _managers(units: QuerySet[Any]) -> dict[int, list[int]]:
    """Active principals and safety officers of the units in `units` (a values() subquery)."""
    by_unit: dict[int, list[int]] = defaultdict(list)
    rows = User.objects.filter(
        enterprise_id__in=units, role__in=sorted(UNIT_MANAGER_ROLES), is_active=True
    ).values_list("enterprise_id", "pk")
    for unit_id, user_id in rows:
        by_unit[unit_id].append(user_id)
    return by_unit


def _note(user_id: int, verb: str, params: dict[str, Any], url: str) -> Notification:
    if verb not in MESSAGES:
        raise ValueError(f"unknown notification verb {verb!r}")
    return Notification(recipient_id=user_id, verb=verb, params=params, url=url)


def _deliver(notes: list[Notification]) -> int:
    """What `notify` does, for all of the run's notifications at once: one bulk insert and the
    e-mail copies after commit."""
    rows = Notification.objects.bulk_create(notes)
    ids = [n.pk for n in rows]
    for start in range(0, len(ids), EMAIL_BATCH):
        transaction.on_commit(
            partial(send_notification_emails.enqueue, ids[start : start + EMAIL_BATCH])
        )
    return len(ids)


def _remind(
    today: date, moment: datetime, result: FollowupResult, notes: list[Notification]
) -> None:
    ahead = settings.HAZARD_REMIND_DAYS_BEFORE
    days_left = {today + timedelta(days=ahead): ahead, today: 0}
    start, end = _day_window(today)
    reminded_today = HazardEvent.objects.filter(
        hazard=OuterRef("pk"), action=HazardEvent.Action.REMINDED, at__gte=start, at__lt=end
    )
    due = (
        Hazard.objects.filter(status__in=PENDING, deadline__in=list(days_left))
        .filter(~Exists(reminded_today))
        .order_by()
    )
    rows = list(
        due.values_list("pk", "status", "found_on", "deadline", "enterprise_id", "enterprise__name")
    )
    if not rows:
        return
    managers = _managers(due.values("enterprise_id"))
    events = []
    for pk, status, found_on, deadline, unit_id, unit_name in rows:
        days = days_left[deadline]
        events.append(
            HazardEvent(
                hazard_id=pk,
                action=HazardEvent.Action.REMINDED,
                to_status=status,
                at=moment,
                data={"days_left": days},
            )
        )
        if days:
            result.due_soon += 1
        else:
            result.due_today += 1
        params = {
            "unit": unit_name,
            "reference": _reference(pk, found_on),
            "hazard_id": pk,
            "deadline": deadline.isoformat(),
            "days": days,
        }
        verb = "hazard.due_soon" if days else "hazard.due_today"
        notes.extend(_note(uid, verb, params, hazard_url(pk)) for uid in managers.get(unit_id, []))
    HazardEvent.objects.bulk_create(events)


def _county_regulators() -> dict[str, tuple[str, list[int]]]:
    """Active county regulators by the jurisdiction code of their bureau: (name, user ids)."""
    counties: dict[str, tuple[str, list[int]]] = {}
    rows = User.objects.filter(
        is_active=True, role=Role.COUNTY_REGULATOR, agency__isnull=False
    ).values_list("pk", "agency__jurisdiction_id", "agency__jurisdiction__name")
    for user_id, code, name in rows:
        counties.setdefault(code, (name, []))[1].append(user_id)
    return counties


def _mark_overdue(
    today: date, moment: datetime, result: FollowupResult, notes: list[Notification]
) -> None:
    newly = Hazard.objects.filter(overdue_q(today), overdue_since__isnull=True).order_by()
    hazards = list(newly.values_list("pk", "status"))
    if not hazards:
        return
    units = list(
        newly.values_list("enterprise_id", "enterprise__name", "enterprise__jurisdiction_id")
        .annotate(count=Count("pk"))
        .order_by("enterprise_id")
    )
    managers = _managers(newly.values("enterprise_id"))
    # A derived flag, not a decision: set with UPDATE, outside the audit trail. The OVERDUE
    # events below are the record of it.
    newly.update(overdue_since=today)
    HazardEvent.objects.bulk_create(
        HazardEvent(hazard_id=pk, action=HazardEvent.Action.OVERDUE, to_status=status, at=moment)
        for pk, status in hazards
    )
    result.overdue = len(hazards)
    result.units = len(units)
    day = today.isoformat()
    for unit_id, unit_name, _code, count in units:
        params = {"unit": unit_name, "unit_id": unit_id, "count": count, "date": day}
        notes.extend(
            _note(uid, "hazard.overdue_unit", params, OVERDUE_LIST_URL)
            for uid in managers.get(unit_id, [])
        )
    for code, (name, user_ids) in _county_regulators().items():
        prefix = jurisdiction_prefix(code)
        inside = [count for _id, _name, unit_code, count in units if unit_code.startswith(prefix)]
        if not inside:
            continue
        params = {"area": name, "count": sum(inside), "units": len(inside), "date": day}
        notes.extend(
            _note(uid, "hazard.overdue_county", params, OVERDUE_LIST_URL) for uid in user_ids
        )


def run_followup(today: date | None = None) -> FollowupResult:
    """Send today's deadline reminders and report hazards that became overdue; running it again
    the same day does nothing more."""
    today = today or timezone.localdate()
    moment = _moment(today)
    result = FollowupResult()
    notes: list[Notification] = []
    with transaction.atomic():
        _remind(today, moment, result, notes)
        _mark_overdue(today, moment, result, notes)
        result.notifications = _deliver(notes)
    logger.info("hazard follow-up for %s: %s", today, result)
    return result
