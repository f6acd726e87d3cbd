"""Predicates for what a user may do (row visibility is `visible_to`, in weibao.core.scoping)."""

from __future__ import annotations

from typing import Any

from rules.permissions import add_perm
from rules.predicates import is_authenticated, predicate

from weibao.core.scoping import covers

__all__ = [
    "is_authenticated",
    "is_city_regulator",
    "is_manager_of_unit",
    "is_partner",
    "is_regulator",
    "is_staff_of_unit",
    "is_system_admin",
    "supervises_unit",
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


def _unit_jurisdiction(obj: Any) -> str | None:
    if obj._meta.label_lower == "registry.enterprise":
        return str(obj.jurisdiction_id)
    unit = getattr(obj, "enterprise", None) or getattr(
        getattr(obj, "person", None), "enterprise", None
    )
    return str(unit.jurisdiction_id) if unit is not None else None


@predicate
def supervises_unit(user: Any, obj: Any = None) -> bool:
    """A regulator whose jurisdiction contains the unit (any regulator when there is no object
    yet, e.g. before a create; the service checks again with the object)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_system_admin:
        return True
    if not user.is_regulator:
        return False
    code = _unit_jurisdiction(obj) if obj is not None else None
    return obj is None or (code is not None and covers(user, code))


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
