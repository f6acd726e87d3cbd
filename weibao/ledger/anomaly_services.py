"""Writes on anomalies reconciliation found: their status (open, explained, confirmed loss,
closed). One transaction each; the change lands in the audit trail (Anomaly is audited)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from weibao.core.errors import DomainError, ServiceValidationError
from weibao.core.scoping import covers
from weibao.ledger.models import Anomaly

Status = Anomaly.Status
NEEDS_EXPLANATION = frozenset({Status.EXPLAINED, Status.CLOSED})
MAX_EXPLANATION = 4000


def supervises(user: Any, anomaly: Anomaly) -> bool:
    """A regulator whose jurisdiction holds the unit that owns the anomaly (or an admin)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_system_admin or covers(user, anomaly.enterprise.jurisdiction_id))
    )


def owns(user: Any, anomaly: Anomaly) -> bool:
    """The owner unit's principal or safety officer."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_unit_manager
        and user.enterprise_id == anomaly.enterprise_id
    )


def statuses_for(user: Any, anomaly: Anomaly) -> list[str]:
    """The statuses `user` may move the anomaly to now (what a page offers)."""
    if supervises(user, anomaly):
        return [s for s in Status.values if s != anomaly.status]
    if owns(user, anomaly) and anomaly.status == Status.OPEN:
        return [Status.EXPLAINED]
    return []


def anomaly_set_status(
    *, actor: Any, anomaly: Anomaly, status: str, explanation: str = ""
) -> Anomaly:
    """Set an anomaly's status. The supervising regulators may set any status (reopen it, confirm
    the loss, close it); the owner unit's principal or safety officer may only explain an open
    one. Explaining and closing need an explanation, which replaces the previous one (the audit
    trail keeps every version)."""
    if status not in Status.values:
        raise ServiceValidationError(
            {"status": [_("Use one of %(values)s.") % {"values": ", ".join(Status.values)}]}
        )
    explanation = explanation.strip()
    if status in NEEDS_EXPLANATION and not explanation:
        raise ServiceValidationError({"explanation": [_("Say what happened.")]})
    if len(explanation) > MAX_EXPLANATION:
        raise ServiceValidationError(
            {"explanation": [_("At most %(limit)d characters.") % {"limit": MAX_EXPLANATION}]}
        )
    with transaction.atomic():
        # Checked on the locked row: two people acting at once see each other's change.
        locked: Anomaly = (
            Anomaly.objects.select_for_update().select_related("enterprise").get(pk=anomaly.pk)
        )
        _check(actor, locked, status)
        locked.status = status
        if explanation:
            locked.explanation = explanation
        locked.save()
    return locked


def _check(actor: Any, anomaly: Anomaly, status: str) -> None:
    regulator = supervises(actor, anomaly)
    if not regulator:
        if not owns(actor, anomaly):
            raise PermissionDenied(
                _("Only the bureau supervising the unit, or the unit's managers, may do this.")
            )
        if status != Status.EXPLAINED:
            raise PermissionDenied(
                _("A unit may explain an anomaly; the bureau confirms, closes or reopens it.")
            )
    if status == anomaly.status:
        raise DomainError(
            _("The anomaly is already %(status)s.") % {"status": Status(status).label},
            allowed=statuses_for(actor, anomaly),
            current_status=anomaly.status,
        )
    if not regulator and anomaly.status != Status.OPEN:
        raise DomainError(
            _("Only an open anomaly can be explained by the unit; ask the bureau to reopen it."),
            allowed=[],
            current_status=anomaly.status,
        )
