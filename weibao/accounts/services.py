"""Writes for accounts: keyword-only, one transaction each, history recorded by the models."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tasks import task
from rest_framework.authtoken.models import Token

from weibao.accounts import throttle
from weibao.accounts.models import UNIT_ROLES, Agency, Invitation, User
from weibao.core.errors import ServiceValidationError


def user_authenticate(*, request: HttpRequest, username: str, password: str) -> User:
    """Check credentials with throttling; raise ServiceValidationError with a field-less reason."""
    if throttle.is_locked(username, request):
        minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
        raise ServiceValidationError(
            {
                "__all__": [
                    ngettext(
                        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
                        minutes,
                    )
                    % {"minutes": minutes}
                ]
            },
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


INVITATION_DAYS = 14


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *, actor: User, enterprise: Any, full_name: str, role: str, email: str = ""
) -> tuple[Invitation, str]:
    """Invite someone to open a unit account; returns the invitation and its one-time token."""
    if not actor.has_perm("registry.invite_enterprise", enterprise):
        raise PermissionDenied(_("You may not invite accounts for this unit."))
    if role not in UNIT_ROLES:
        raise ServiceValidationError({"role": [_("Choose a unit role.")]})
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        enterprise=enterprise,
        full_name=full_name,
        role=role,
        email=email,
        token_hash=_token_hash(token),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    if email:
        link = settings.SITE_URL.rstrip("/") + reverse("invitation-accept", args=[token])
        transaction.on_commit(lambda: send_invitation_email.enqueue(invitation.pk, link))
    return invitation, token


def invitation_by_token(token: str) -> Invitation | None:
    invitation = (
        Invitation.objects.select_related("enterprise")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_usable else None


@transaction.atomic
def invitation_accept(*, token: str, username: str, password: str) -> User:
    invitation = invitation_by_token(token)
    if invitation is None:
        raise ServiceValidationError(
            {"__all__": [_("This invitation link is invalid, used or expired.")]}
        )
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_usable:
        raise ServiceValidationError({"__all__": [_("This invitation was just used.")]})
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceValidationError({"username": [_("This user name is taken.")]})
    user = User(
        username=username,
        full_name=invitation.full_name,
        email=invitation.email,
        role=invitation.role,
        enterprise=invitation.enterprise,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ServiceValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.full_clean()
    user.save()
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save()
    return user


@task()
def send_invitation_email(invitation_id: int, link: str) -> bool:
    invitation = Invitation.objects.select_related("enterprise").get(pk=invitation_id)
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "%(name)s, you are invited to open a Weibao account for %(unit)s.\n\n"
            "Open this link within %(days)d days to choose your user name and password:\n%(link)s"
        ) % {
            "name": invitation.full_name,
            "unit": invitation.enterprise.name,
            "days": INVITATION_DAYS,
            "link": link,
        }
        send_mail(_("Your Weibao account invitation"), body, None, [invitation.email])
    return True
