"""Login throttling shared by the sign-in page and the token endpoint.

Failures are counted per (username, client address) in the cache; past the limit that pair is
refused until the window passes, even with the right password, so guessing gains nothing.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The caller's address; behind a proxy, the header the proxy sets (CLIENT_IP_HEADER)."""
    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            return str(forwarded).split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(username: str, request: HttpRequest) -> str:
    address = client_address(request)
    raw = f"{username.strip().lower()}|{address}".encode()
    return "login-failures:" + hashlib.sha256(raw).hexdigest()


def is_locked(username: str, request: HttpRequest) -> bool:
    return int(cache.get(_key(username, request), 0)) >= settings.LOGIN_FAILURE_LIMIT


def record_failure(username: str, request: HttpRequest) -> None:
    key = _key(username, request)
    if cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS)


def reset(username: str, request: HttpRequest) -> None:
    cache.delete(_key(username, request))
