from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from weibao.accounts.models import Invitation, Role, User
from weibao.tests.factories import World

pytestmark = pytest.mark.django_db


def invite(client: Any, world: World, **data: str) -> str:
    client.force_login(world.county_a)
    body = {"full_name": "刘安全", "role": Role.UNIT_SAFETY_OFFICER, "email": "liu@example.org"}
    response = client.post(reverse("invitation-create", args=[world.unit_a.pk]), {**body, **data})
    assert response.status_code == 200
    link = response.context["link"]
    assert link
    return re.sub(r"^https?://[^/]+", "", link)


def test_invite_and_accept(
    client: Any, world: World, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        path = invite(client, world)
    assert len(mailoutbox) == 1 and path in mailoutbox[0].body
    client.logout()
    response = client.post(
        path, {"username": "liu", "password1": "a-long-pass-4242", "password2": "a-long-pass-4242"}
    )
    assert response.status_code == 302
    user = User.objects.get(username="liu")
    assert user.enterprise == world.unit_a and user.role == Role.UNIT_SAFETY_OFFICER
    assert client.get(path).status_code == 404  # used


def test_token_is_not_stored(client: Any, world: World) -> None:
    path = invite(client, world)
    token = path.rstrip("/").rsplit("/", 1)[-1]
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_weak_password_and_taken_name(client: Any, world: World) -> None:
    path = invite(client, world)
    client.logout()
    weak = client.post(path, {"username": "liu", "password1": "123", "password2": "123"})
    assert weak.status_code == 200 and weak.context["form"].errors
    taken = client.post(
        path,
        {"username": "county_a", "password1": "a-long-pass-4242", "password2": "a-long-pass-4242"},
    )
    assert "username" in taken.context["form"].errors
    assert not User.objects.filter(
        enterprise=world.unit_a, role=Role.UNIT_SAFETY_OFFICER, username="liu"
    ).exists()


def test_only_the_units_regulators_invite(client: Any, world: World) -> None:
    for user, status in (
        (world.county_b, 404),
        (world.unit_a_officer, 403),
        (world.partner_user, 403),
    ):
        client.force_login(user)
        response = client.get(reverse("invitation-create", args=[world.unit_a.pk]))
        assert response.status_code == status, user


def test_bad_token(client: Any, db: None) -> None:
    assert client.get(reverse("invitation-accept", args=["nonsense"])).status_code == 404


def test_invite_through_the_api(world: World, api: Any) -> None:
    url = reverse("api:enterprise-invitations", args=[world.unit_a.pk])
    body = {"full_name": "王员工", "role": Role.EMPLOYEE}
    response = api(world.city).post(url, body, format="json")
    assert response.status_code == 201, response.content
    assert "/invite/" in response.json()["link"]
    assert api(world.county_b).post(url, body, format="json").status_code == 404
    assert api(world.unit_a_principal).post(url, body, format="json").status_code == 403
    bad = api(world.city).post(url, {**body, "role": "city_regulator"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()["errors"]
