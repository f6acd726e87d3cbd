"""Predicates for what a user may do (row visibility is `visible_to`, in weibao.core.scoping)."""

from __future__ import annotations

from typing import Any

import rules

is_authenticated = rules.is_authenticated


@rules.predicate
def is_system_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_system_admin)


@rules.predicate
def is_regulator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_regulator)


@rules.predicate
def is_city_regulator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_city_regulator)


@rules.predicate
def is_partner(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_partner)


rules.add_perm("core.view_auditentry", is_regulator | is_system_admin)
