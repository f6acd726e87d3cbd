"""Predicates for what a user may do (row visibility is `visible_to`, in weibao.core.scoping)."""

from __future__ import annotations

from typing import Any

from rules.permissions import add_perm
from rules.predicates import is_authenticated, predicate

__all__ = [
    "is_authenticated",
    "is_city_regulator",
    "is_manager_of_unit",
    "is_partner",
    "is_regulator",
    "is_staff_of_unit",
    "is_system_admin",
]


@predicate
def is_system_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_system_admin)


@predicate
def is_regulator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_regulator)


@predicate
def is_city_regulator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_city_regulator)


@predicate
def is_partner(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_partner)


def _unit_id(obj: Any) -> int | None:
    """The unit an object belongs to: a unit itself, or anything with .enterprise_id."""
    if obj is None:
        return None
    if obj._meta.label_lower == "registry.enterprise":
        return int(obj.pk)
    if hasattr(obj, "enterprise_id"):
        return int(obj.enterprise_id)
    person = getattr(obj, "person", None)
    return int(person.enterprise_id) if person is not None else None


@predicate
def is_staff_of_unit(user: Any, obj: Any) -> bool:
    """Any account of the unit the object belongs to (principal, safety officer, employee)."""
    unit = _unit_id(obj)
    return bool(getattr(user, "is_authenticated", False) and unit and user.enterprise_id == unit)


@predicate
def is_manager_of_unit(user: Any, obj: Any = None) -> bool:
    """The unit's principal or safety officer; with no object, any such account."""
    if not getattr(user, "is_authenticated", False) or not user.is_unit_manager:
        return False
    unit = _unit_id(obj)
    return obj is None or unit == user.enterprise_id


add_perm("core.view_auditentry", is_regulator | is_system_admin)
# Rows are limited to the recipient by Notification.visibility_q.
add_perm("core.view_notification", is_authenticated)
