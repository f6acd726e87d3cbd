"""Writes for accounts: keyword-only, one transaction each, history recorded by the models."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from weibao.accounts import throttle
from weibao.accounts.models import Agency, User
from weibao.core.errors import ServiceValidationError

__all__ = ["ServiceValidationError"]


def user_authenticate(*, request: HttpRequest, username: str, password: str) -> User:
    """Check credentials with throttling; raise ServiceValidationError with a field-less reason."""
    if throttle.is_locked(username, request):
        raise ServiceValidationError(
            {"__all__": [_("Too many failed sign-in attempts. Try again in 15 minutes.")]},
            code="locked",
        )
    user = authenticate(request, username=username, password=password)
    if user is None:
        throttle.record_failure(username, request)
        raise ServiceValidationError(
            {"__all__": [_("The user name or password is wrong, or the account is disabled.")]},
            code="invalid_login",
        )
    throttle.reset(username, request)
    return user


@transaction.atomic
def token_issue(*, user: User) -> Token:
    token, _created = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()


@transaction.atomic
def agency_create(*, data: dict[str, Any]) -> Agency:
    agency = Agency(**data)
    agency.full_clean()
    agency.save()
    return agency


@transaction.atomic
def agency_update(*, agency: Agency, data: dict[str, Any]) -> Agency:
    for field, value in data.items():
        setattr(agency, field, value)
    agency.full_clean()
    agency.save()
    return agency
