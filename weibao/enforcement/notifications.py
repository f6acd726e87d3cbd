"""Who hears that the escalation rules proposed a case: the regulators of the bureau that must
confirm or dismiss it (the unit's county bureau; the city bureau where the county has none).

The city bureau is not told one by one: it reads the proposals of all its counties in the case
lists, and a flood of messages from every county would hide the ones it must act on. The unit is
not told either: a proposal is the bureau's internal work until it is registered.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from weibao.accounts.models import REGULATOR_ROLES, User
from weibao.core.notifications import notify


def case_url(pk: int) -> str:
    """The case's page; a literal path because notifications store it as text."""
    return f"/cases/{pk}/"


def regulators_by_agency() -> dict[int, list[User]]:
    """Active regulators by bureau: one query for a whole run (there are few of them)."""
    by_agency: dict[int, list[User]] = defaultdict(list)
    users = User.objects.filter(
        agency__isnull=False, role__in=sorted(REGULATOR_ROLES), is_active=True
    ).order_by("pk")
    for user in users:
        by_agency[user.agency_id].append(user)
    return by_agency


def notify_case_proposed(
    *, recipients: list[User], case_id: int, params: dict[str, Any], appended: bool
) -> int:
    return notify(
        recipients=recipients,
        verb="case.evidence" if appended else "case.proposed",
        params=params,
        url=case_url(case_id),
    )
