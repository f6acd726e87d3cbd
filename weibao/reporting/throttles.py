"""Rate limits on the public reporting endpoints (no login), shared by the pages and the API.

Counted per device (a random id in a cookie the reporting page sets, or the `X-Device-Id` header
an app sends) and per client address. The address limit is the generous one: a whole workshop
may report from one NAT address, and one person mistyping must not lock the others out. Only
accepted reports count towards the submission limit, so a form sent back with an error costs
nothing; every receipt lookup counts, so codes cannot be tried in bulk. The cache holds only
hashes of the device id and address, never the address itself, and nothing is written to the
database: an anonymous report stays unlinkable to where it came from.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from weibao.accounts.throttle import client_address

DEVICE_COOKIE = "wb_device"
DEVICE_HEADER = "X-Device-Id"
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Limit:
    scope: str
    per_device: int
    per_address: int


def submit_limit() -> Limit:
    return Limit("submit", settings.REPORT_LIMIT_PER_DEVICE, settings.REPORT_LIMIT_PER_ADDRESS)


def lookup_limit() -> Limit:
    return Limit("lookup", 0, settings.REPORT_LOOKUP_LIMIT_PER_ADDRESS)


def new_device_id() -> str:
    return secrets.token_urlsafe(18)


def device_id(request: HttpRequest) -> str:
    value = request.COOKIES.get(DEVICE_COOKIE) or request.headers.get(DEVICE_HEADER) or ""
    return value if _DEVICE_RE.match(value) else ""


def _window() -> tuple[int, int]:
    """The current fixed window and the seconds left in it."""
    length = max(1, settings.REPORT_LIMIT_WINDOW_SECONDS)
    now = int(time.time())
    return now // length, length - now % length


def _keys(request: HttpRequest, limit: Limit) -> list[tuple[str, int]]:
    index, _left = _window()
    keys = []
    device = device_id(request)
    if device and limit.per_device:
        keys.append((_key(limit.scope, "device", device, index), limit.per_device))
    keys.append((_key(limit.scope, "address", client_address(request), index), limit.per_address))
    return keys


def _key(scope: str, kind: str, value: str, index: int) -> str:
    digest = hashlib.sha256(f"{kind}|{value}".encode()).hexdigest()[:32]
    return f"report-limit:{scope}:{digest}:{index}"


def wait_seconds(request: HttpRequest, limit: Limit) -> int | None:
    """Seconds to wait if this device or address has reached the limit, else None."""
    for key, allowed in _keys(request, limit):
        if int(cache.get(key, 0)) >= allowed:
            return _window()[1]
    return None


def count(request: HttpRequest, limit: Limit) -> None:
    timeout = max(1, settings.REPORT_LIMIT_WINDOW_SECONDS)
    for key, _allowed in _keys(request, limit):
        if not cache.add(key, 1, timeout):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout)
