"""Reads for hazards, always through visible_to."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import ACTIVE, PENDING, Hazard, HazardStatus, overdue_q

# Mirrors Hazard.accepted_by_unit in SQL: the unit's own general hazards.
ACCEPTED_BY_UNIT_Q = Q(source__in=sorted(Hazard.UNIT_SOURCES), level=HazardLevel.GENERAL)


def awaiting_acceptance_q(user: Any) -> Q:
    """Hazards handed in that this user's side must accept: the bureau accepts the ones found by
    regulators and every major one, the unit's managers its own general ones."""
    awaiting = Q(status=HazardStatus.AWAITING_ACCEPTANCE)
    if user.is_regulator:
        return awaiting & ~ACCEPTED_BY_UNIT_Q
    if user.is_unit_manager:
        return awaiting & ACCEPTED_BY_UNIT_Q
    if user.is_unit_user or user.is_partner:
        return Q(pk__in=[])  # employees and partner departments accept nothing
    return awaiting


def hazard_counts(user: Any, today: date | None = None) -> dict[str, int]:
    """What the home page counts: due soon, overdue, awaiting acceptance, open (one query)."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.HAZARD_REMIND_DAYS_BEFORE)
    # Every count is of unresolved hazards: filtering on them first keeps closed history (the
    # bulk of a mature ledger) out of the scan.
    counts: dict[str, int] = (
        Hazard.objects.visible_to(user)
        .filter(status__in=ACTIVE)
        .aggregate(
            due_soon=Count(
                "pk", filter=Q(status__in=PENDING, deadline__gte=today, deadline__lte=horizon)
            ),
            overdue=Count("pk", filter=overdue_q(today)),
            awaiting_acceptance=Count("pk", filter=awaiting_acceptance_q(user)),
            open=Count("pk", filter=Q(status__in=ACTIVE)),
        )
    )
    return counts
