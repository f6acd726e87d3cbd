"""Who may do what with checklists, campaigns and inspections (rows: `visible_to`)."""

from __future__ import annotations

from typing import Any

from rules.predicates import is_authenticated, predicate

from weibao.accounts.rules import is_city_regulator, is_regulator, is_system_admin
from weibao.core.scoping import covers

__all__ = [
    "is_authenticated",
    "is_regulator",
    "is_system_admin",
    "is_unit_manager",
    "may_draw",
    "may_edit_inspection",
    "may_publish_checklists",
    "organises_campaign",
]

may_publish_checklists = is_city_regulator | is_system_admin


@predicate
def is_unit_manager(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_unit_manager)


@predicate
def organises_campaign(user: Any, campaign: Any = None) -> bool:
    """A regulator whose jurisdiction contains the campaign's area (its organiser or above)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_system_admin:
        return True
    if not user.is_regulator:
        return False
    return campaign is None or covers(user, campaign.jurisdiction_id)


@predicate
def may_draw(user: Any, campaign: Any = None) -> bool:
    """Any regulator who sees the campaign draws for the part of it in their jurisdiction."""
    return bool(
        getattr(user, "is_authenticated", False) and (user.is_regulator or user.is_system_admin)
    )


@predicate
def may_edit_inspection(user: Any, inspection: Any = None) -> bool:
    """A regulator inspection: a regulator supervising the unit. A self-inspection: the unit's
    principal or safety officer. (Services also refuse changes once submitted.)"""
    if not getattr(user, "is_authenticated", False):
        return False
    if inspection is None:
        return bool(user.is_regulator or user.is_unit_manager or user.is_system_admin)
    if inspection.is_self_inspection:
        return bool(user.is_unit_manager and user.enterprise_id == inspection.enterprise_id)
    if user.is_system_admin:
        return True
    return bool(user.is_regulator and covers(user, inspection.enterprise.jurisdiction_id))
