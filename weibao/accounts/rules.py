"""Predicates for what a user may do (row visibility is `visible_to`, in weibao.core.scoping)."""

from __future__ import annotations

from typing import Any

from rules.permissions import add_perm
from rules.predicates import is_authenticated, predicate

__all__ = ["is_authenticated", "is_city_regulator", "is_partner", "is_regulator", "is_system_admin"]


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


add_perm("core.view_auditentry", is_regulator | is_system_admin)
