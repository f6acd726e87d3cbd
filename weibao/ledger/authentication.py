"""Firing devices authenticate with their own token: `Authorization: Device <token>`.

The token is shown once, at registration; only its SHA-256 is stored (`Device.token_hash`), so a
copy of the database cannot act as a device. A blacklisted device still authenticates: it must
get a signed refusal (`device_blacklisted`) it can show, not a bare 401.

The request's user stays anonymous; the device is `request.auth`. Only the firing-authorization
endpoint accepts this scheme, and user tokens are not accepted there.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from weibao.ledger.models import Device

KEYWORD = "Device"
# secrets.token_urlsafe(32): 43 characters of the URL-safe base-64 alphabet.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DeviceAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Device] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid device header."))
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Malformed token.")) from None
        if not TOKEN_RE.match(token):
            raise exceptions.AuthenticationFailed(_("Malformed token."))
        device = (
            Device.objects.select_related("enterprise").filter(token_hash=token_hash(token)).first()
        )
        if device is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return (AnonymousUser(), device)

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class IsDevice(permissions.BasePermission):
    """The caller authenticated as a registered firing device."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Device)


class DeviceAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents the scheme in the OpenAPI schema (loaded with this module)."""

    target_class = "weibao.ledger.authentication.DeviceAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <token>`: the token given once when the device was registered.",
        }
