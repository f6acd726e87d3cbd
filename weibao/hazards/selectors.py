"""Reads for hazards, always through visible_to."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import ACTIVE, PENDING, Hazard, HazardStatus, overdue_q
from weibao.hazards.services import allowed_actions

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


# Every action the API and pages may offer, in the order they are listed (life-cycle steps
# first, as a 409 lists them), with the rules permission on Hazard that guards it.
ACTION_ORDER = [
    "start",
    "submit-rectification",
    "accept",
    "reject",
    "extend",
    "cancel",
    "plan",
    "attachments",
    "follow-up",
]
ACTION_PERMS = {
    "start": "start",
    "submit-rectification": "submit_rectification",
    "accept": "accept",
    "reject": "reject",
    "extend": "extend",
    "cancel": "cancel",
    "plan": "plan",
    "follow-up": "follow_up",
}


def user_actions(user: Any, hazard: Hazard) -> list[str]:
    """What `user` may do with `hazard` now: the steps its status allows that the rules let this
    user take, plus the side steps (plan, files, follow-up). Mirrors the services' checks without
    queries, so the API list and the hazard page offer exactly what would succeed."""

    def may(perm: str) -> bool:
        return bool(user.has_perm(f"hazards.{perm}_hazard", hazard))

    actions = {a for a in allowed_actions(hazard) if may(ACTION_PERMS[a])}
    # A further extension is the city bureau's approval.
    if hazard.extension_count >= settings.HAZARD_FREE_EXTENSIONS and not (
        user.is_city_regulator or user.is_system_admin
    ):
        actions.discard("extend")
    if hazard.status in PENDING:
        if may("plan"):
            actions.add("plan")
        if may("plan") or may("follow_up"):
            actions.add("attachments")
    # A follow-up inspection is made by a bureau officer (inspection_create requires one).
    if hazard.status in ACTIVE and user.is_regulator and may("follow_up"):
        actions.add("follow-up")
    return [a for a in ACTION_ORDER if a in actions]
