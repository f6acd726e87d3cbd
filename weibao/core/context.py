"""Who is acting and under which request id, for the audit trail.

Set by RequestContextMiddleware for web requests and by `acting_as` for commands and tasks;
read by the audit recorder. Context variables keep concurrent requests apart.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class ActingContext:
    request_id: str
    request: Any = None  # the HttpRequest; its .user is read late, after DRF authenticates
    actor: Any = None  # explicit actor for commands and tasks
    label: str = ""  # e.g. "command:demo", shown when there is no user


_current: ContextVar[ActingContext | None] = ContextVar("weibao_acting_context", default=None)


def new_request_id(incoming: str | None = None) -> str:
    """Accept a well-formed upstream id (nginx $request_id), otherwise mint one."""
    if incoming and _REQUEST_ID_RE.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current() -> ActingContext | None:
    return _current.get()


def current_actor() -> Any:
    ctx = _current.get()
    if ctx is None:
        return None
    if ctx.actor is not None:
        return ctx.actor
    user = getattr(ctx.request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


@contextlib.contextmanager
def acting_as(
    actor: Any = None, *, label: str = "", request: Any = None, request_id: str | None = None
) -> Iterator[ActingContext]:
    ctx = ActingContext(
        request_id=request_id or new_request_id(), request=request, actor=actor, label=label
    )
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
