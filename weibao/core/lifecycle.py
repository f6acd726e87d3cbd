"""Life cycles kept with django-fsm-2 (hazards, cases): which steps the status allows now, and
the refusal a service raises for a step it does not allow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django_fsm import can_proceed

from weibao.core.errors import DomainError


def allowed_steps(obj: Any, actions: Mapping[str, str]) -> list[str]:
    """The API names (`actions`: fsm method → name) of the transitions the status allows."""
    return [actions[t.name] for t in obj.get_available_status_transitions() if t.name in actions]


def require_step(obj: Any, method: str, actions: Mapping[str, str]) -> None:
    """A `DomainError` (409) naming the allowed steps when the status does not allow `method`."""
    if can_proceed(getattr(obj, method)):
        return
    allowed = allowed_steps(obj, actions)
    raise DomainError(
        _("Status %(status)s does not allow the step “%(action)s”; allowed: %(allowed)s.")
        % {
            "status": obj.get_status_display(),
            "action": actions[method],
            "allowed": ", ".join(allowed) or _("none"),
        },
        allowed=allowed,
        current_status=obj.status,
    )
