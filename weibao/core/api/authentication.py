from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`; loads the user's agency in the same query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if len(key) != 40 or not key.isalnum():
            raise exceptions.AuthenticationFailed(_("Malformed token."))
        try:
            token = Token.objects.select_related("user__agency").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
