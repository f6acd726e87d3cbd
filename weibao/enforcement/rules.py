"""Who may act on a case (rows: `visible_to`). Services re-check with the object and give the
reason in words; these predicates also decide which buttons a page shows."""

from __future__ import annotations

from typing import Any

from rules.predicates import is_authenticated, predicate

from weibao.accounts.rules import is_system_admin, supervises_unit

__all__ = [
    "handles_case",
    "is_authenticated",
    "is_system_admin",
    "may_review",
    "supervises_unit",
]


def _is_officer(user: Any, case: Any) -> bool:
    return any(officer.pk == user.pk for officer in case.officers.all())


@predicate
def handles_case(user: Any, case: Any = None) -> bool:
    """A proposed case: any regulator supervising the unit (who confirms or dismisses it).
    From registration on: the case's handling officers, and the city bureau above them."""
    if not supervises_unit(user, case):
        return False
    if case is None or user.is_system_admin or user.is_city_regulator:
        return True
    return case.status == "proposed" or _is_officer(user, case)


@predicate
def may_review(user: Any, case: Any = None) -> bool:
    """Case-quality review (精品案件评查): a city officer who did not handle the case."""
    if not getattr(user, "is_authenticated", False):
        return False
    if not (user.is_city_regulator or user.is_system_admin):
        return False
    return case is None or (supervises_unit(user, case) and not _is_officer(user, case))
