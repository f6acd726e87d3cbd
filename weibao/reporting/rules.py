"""Who may act on an internal report (rows: `visible_to`). Services re-check with the object and
give the reason in words; these predicates also decide which buttons a page shows."""

from __future__ import annotations

from typing import Any

from rules.predicates import is_authenticated, predicate

from weibao.accounts.rules import supervises_unit

__all__ = ["is_authenticated", "may_handle_complaint", "may_verify", "supervises_unit"]

# The explicit permission a regulator needs to see who made a report (granted per person by an
# administrator; every use is written to the audit trail).
IDENTITY_PERMISSION = "reporting.view_reporter_identity"


@predicate
def may_verify(user: Any, obj: Any = None) -> bool:
    """The unit runs its own reward system: its principal or safety officer verify and reward.
    `obj` is a report or a reporting channel (anything with `enterprise_id`)."""
    if not getattr(user, "is_authenticated", False) or not user.is_unit_manager:
        return False
    return obj is None or user.enterprise_id == obj.enterprise_id


@predicate
def may_handle_complaint(user: Any, report: Any = None) -> bool:
    """A report raised to the bureau is handled like a complaint by the supervising regulators."""
    if not getattr(user, "is_authenticated", False) or not user.is_regulator:
        return False
    return report is None or bool(supervises_unit(user, report))


def may_see_identity(user: Any, report: Any) -> bool:
    """Regulators supervising the unit who hold the explicit permission; the unit's managers
    only when the reporter consented; the reporter themself."""
    if not getattr(user, "is_authenticated", False):
        return False
    identity = getattr(report, "identity", None)
    if identity is None:
        return False
    if identity.user_id is not None and identity.user_id == user.pk:
        return True
    if user.is_regulator:
        return bool(supervises_unit(user, report)) and user.has_perm(IDENTITY_PERMISSION)
    return bool(identity.consent_to_unit and may_verify(user, report))
