"""Who may act on a hazard (rows: `visible_to`). Services re-check with the object and give
the reason in words; these predicates also drive which buttons a page shows."""

from __future__ import annotations

from typing import Any

from rules.predicates import is_authenticated, predicate

from weibao.accounts.rules import supervises_unit

__all__ = [
    "is_authenticated",
    "may_accept",
    "may_extend",
    "may_record_hazard",
    "may_rectify",
    "supervises_unit",
]


def _manages(user: Any, hazard: Any) -> bool:
    return bool(user.is_unit_manager and user.enterprise_id == hazard.enterprise_id)


@predicate
def may_record_hazard(user: Any) -> bool:
    """Regulators record hazards they find; units record their own (self-found) hazards."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_regulator or user.is_system_admin or user.is_unit_manager)
    )


@predicate
def may_rectify(user: Any, hazard: Any = None) -> bool:
    """The unit does the rectification: its principal or safety officer."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_unit_manager) if hazard is None else _manages(user, hazard)


@predicate
def may_accept(user: Any, hazard: Any = None) -> bool:
    """Regulator-found and major hazards: the supervising bureau. The unit's own general
    hazards: the unit's principal or safety officer. (Cancelling follows the same split.)"""
    if not getattr(user, "is_authenticated", False):
        return False
    if hazard is None:
        return bool(user.is_regulator or user.is_system_admin or user.is_unit_manager)
    if hazard.accepted_by_unit:
        return _manages(user, hazard)
    return bool(supervises_unit(user, hazard))


@predicate
def may_extend(user: Any, hazard: Any = None) -> bool:
    """The bureau may extend any hazard it supervises; a unit only its own general ones."""
    if not getattr(user, "is_authenticated", False):
        return False
    if hazard is None:
        return bool(user.is_regulator or user.is_system_admin or user.is_unit_manager)
    if supervises_unit(user, hazard):
        return True
    return bool(hazard.accepted_by_unit and _manages(user, hazard))
