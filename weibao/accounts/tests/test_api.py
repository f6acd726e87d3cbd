from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from weibao.accounts.models import Agency, PartnerGrant, User
from weibao.core.models import AuditEntry
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import PASSWORD, AgencyFactory, World

pytestmark = pytest.mark.django_db


class TestAgencyIsolation(ScopedApiContract):
    list_route = "api:agency-list"
    detail_route = "api:agency-detail"
    page_route = "agencies"

    def make(self, world: World, county: str) -> Agency:
        return AgencyFactory.create(jurisdiction_id=county)


class TestAgencyWrites:
    def test_admin_creates_agency_and_history_records_it(self, world: World, api: Any) -> None:
        response = api(world.admin).post(
            reverse("api:agency-list"),
            {"name": "石鼓分局", "kind": "county_bureau", "jurisdiction": "430407"},
            format="json",
        )
        assert response.status_code == 201, response.content
        agency = Agency.objects.get(pk=response.json()["id"])
        entry = AuditEntry.objects.get(object_type="accounts.agency", object_id=str(agency.pk))
        assert entry.action == "create"
        assert entry.actor_id == world.admin.pk
        assert entry.after is not None and entry.after["name"] == "石鼓分局"

    def test_regulator_may_see_but_not_change_agency(self, world: World, api: Any) -> None:
        url = reverse("api:agency-detail", args=[world.county_a_bureau.pk])
        response = api(world.county_a).patch(url, {"phone": "123"}, format="json")
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        world.county_a_bureau.refresh_from_db()
        assert world.county_a_bureau.phone == ""

    def test_regulator_cannot_create(self, world: World, api: Any) -> None:
        before = Agency.objects.count()
        response = api(world.city).post(
            reverse("api:agency-list"),
            {"name": "x", "kind": "county_bureau", "jurisdiction": "430407"},
            format="json",
        )
        assert response.status_code == 403
        assert Agency.objects.count() == before

    def test_unknown_division_code_is_a_field_error(self, world: World, api: Any) -> None:
        before = AuditEntry.objects.count()
        response = api(world.admin).post(
            reverse("api:agency-list"),
            {"name": "x", "kind": "county_bureau", "jurisdiction": "999999"},
            format="json",
        )
        assert response.status_code == 400
        body = response.json()
        assert "999999" in body["errors"]["jurisdiction"][0]
        assert AuditEntry.objects.count() == before

    def test_county_bureau_needs_a_county(self, world: World, api: Any) -> None:
        response = api(world.admin).post(
            reverse("api:agency-list"),
            {"name": "x", "kind": "county_bureau", "jurisdiction": "430400"},
            format="json",
        )
        assert response.status_code == 400
        assert "jurisdiction" in response.json()["errors"]

    def test_error_messages_follow_accept_language(self, world: World, api: Any) -> None:
        response = api(world.admin, language="zh-hans").post(
            reverse("api:agency-list"), {"kind": "county_bureau"}, format="json"
        )
        assert response.status_code == 400
        assert response["Content-Language"] == "zh-hans"
        assert response.json()["errors"]["name"] == ["该字段是必填项。"]

    def test_partial_update_records_before_and_after(self, world: World, api: Any) -> None:
        url = reverse("api:agency-detail", args=[world.county_a_bureau.pk])
        response = api(world.admin).patch(url, {"phone": "0734-1234567"}, format="json")
        assert response.status_code == 200, response.content
        entry = AuditEntry.objects.filter(object_type="accounts.agency").order_by("-seq").first()
        assert entry is not None
        assert entry.action == "update"
        assert entry.before == {"phone": "", "updated_at": entry.before["updated_at"]}
        assert entry.after["phone"] == "0734-1234567"


class TestToken:
    url = "/api/v1/auth/token/"

    def test_password_gives_token_that_authenticates(self, world: World, api: Any) -> None:
        response = api().post(
            self.url, {"username": "county_a", "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200
        token = response.json()["token"]
        me = api().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
        assert me.status_code == 200
        assert me.json()["username"] == "county_a"
        assert me.json()["agency"]["jurisdiction"] == "430405"

    def test_wrong_password_is_a_clear_400(self, world: World, api: Any) -> None:
        response = api().post(self.url, {"username": "county_a", "password": "nope"}, format="json")
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert "password" in response.json()["errors"]["non_field_errors"][0]

    def test_repeated_failures_lock_even_the_right_password(self, world: World, api: Any) -> None:
        client = api()
        for _ in range(5):
            client.post(self.url, {"username": "county_a", "password": "nope"}, format="json")
        response = client.post(
            self.url, {"username": "county_a", "password": PASSWORD}, format="json"
        )
        assert response.status_code == 400
        assert "Too many" in response.json()["errors"]["non_field_errors"][0]

    @pytest.mark.parametrize(
        "header", ["Token", "Token a b", "Token short", "Token " + "x" * 40, "Bearer abc"]
    )
    def test_malformed_or_unknown_tokens_are_401(self, world: World, api: Any, header: str) -> None:
        response = api().get("/api/v1/me/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"

    def test_non_json_body_is_400(self, world: World, api: Any) -> None:
        response = api().post(self.url, "not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["status"] == 400

    def test_revoke(self, world: World, api: Any) -> None:
        token = (
            api()
            .post(self.url, {"username": "city", "password": PASSWORD}, format="json")
            .json()["token"]
        )
        auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
        assert api().post("/api/v1/auth/token/revoke/", **auth).status_code == 204
        assert api().get("/api/v1/me/", **auth).status_code == 401

    @pytest.mark.real_hashing
    def test_passwords_are_hashed_with_argon2(self, world: World) -> None:
        assert User.objects.get(username="city").password.startswith("argon2")


class TestMe:
    def test_me_lists_permissions(self, world: World, api: Any) -> None:
        body = api(world.city).get("/api/v1/me/").json()
        assert body["role"] == "city_regulator"
        assert "core.view_auditentry" in body["permissions"]
        assert "accounts.add_agency" not in body["permissions"]

    def test_partner_has_no_audit_permission(self, world: World, api: Any) -> None:
        assert api(world.partner_user).get("/api/v1/me/").json()["permissions"] == []

    def test_anonymous_401(self, api: Any) -> None:
        assert api().get("/api/v1/me/").status_code == 401


class TestPartnerGrants:
    def test_expired_grant_shows_nothing(self, world: World, api: Any) -> None:
        PartnerGrant.objects.filter(agency=world.partner).update(valid_until="2000-01-01")
        user = User.objects.get(pk=world.partner_user.pk)
        ids = {a.pk for a in Agency.objects.visible_to(user)}
        assert ids == {world.partner.pk}  # only their own department
