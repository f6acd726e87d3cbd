"""Devices, blasting projects, forbidden zones, the chip-UID blacklist and the list of firing
authorizations over the API: who sees what (the isolation contract), who may change what."""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from weibao.core.models import AuditEntry
from weibao.ledger.models import (
    BlacklistedUid,
    BlastingProject,
    Device,
    FiringAuthorization,
    ForbiddenZone,
)
from weibao.registry.models import Enterprise
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import LedgerWorld, World, ledger_world

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)


def unit_for(world: World, county: str) -> Enterprise:
    unit = world.unit_a if county == "430405" else world.unit_b
    if "blasting" not in unit.kind_list:
        unit.kinds = "blasting"
        unit.save()
    return unit


def make_device(unit: Enterprise, **fields: Any) -> Device:
    n = next(_serial)
    return Device.objects.create(
        enterprise=unit,
        device_id=f"QBQ-{n:05d}",
        token_hash=hashlib.sha256(f"token-{n}".encode()).hexdigest(),
        **fields,
    )


def make_project(unit: Enterprise, **fields: Any) -> BlastingProject:
    now = timezone.now()
    values: dict[str, Any] = {
        "code": f"BP-T-{next(_serial):05d}",
        "name": "采石场爆破",
        "latitude": 26.9,
        "longitude": 112.6,
        "radius_m": 300,
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=10),
    }
    values.update(fields)
    return BlastingProject.objects.create(enterprise=unit, **values)


@pytest.fixture
def lw(world: World) -> LedgerWorld:
    return ledger_world(world)


# --- isolation --------------------------------------------------------------------------------
class TestDeviceIsolation(ScopedApiContract):
    list_route = "api:ledger-device-list"
    detail_route = "api:ledger-device-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Device:
        return make_device(unit_for(world, county))


class TestProjectIsolation(ScopedApiContract):
    list_route = "api:ledger-project-list"
    detail_route = "api:ledger-project-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> BlastingProject:
        return make_project(unit_for(world, county))


class TestZoneIsolation(ScopedApiContract):
    list_route = "api:ledger-forbidden-zone-list"
    detail_route = "api:ledger-forbidden-zone-detail"
    partner_sees_a = False

    def make(self, world: World, county: str) -> ForbiddenZone:
        return ForbiddenZone.objects.create(
            jurisdiction_id=county, name="水库", latitude=26.9, longitude=112.6, radius_m=800
        )

    def test_unit_sees_only_itself(self, world: World, api: Any, pair: Any) -> None:
        # Every unit must know where it may not fire: it reads every zone, changes none.
        a, b = pair
        client = api(world.unit_a_officer)
        assert {self.key(a), self.key(b)} <= self.visible_keys(client)
        url = reverse(self.detail_route, args=[b.pk])
        assert client.patch(url, {"name": "x"}, format="json").status_code == 403


class TestFiringAuthorizationIsolation(ScopedApiContract):
    list_route = "api:ledger-firing-authorization-list"
    detail_route = "api:ledger-firing-authorization-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> FiringAuthorization:
        unit = unit_for(world, county)
        return FiringAuthorization.objects.create(
            device=make_device(unit),
            enterprise=unit,
            latitude=26.9,
            longitude=112.6,
            uid_count=1,
            granted=0,
            error="project_unknown",
            answer={"payload": {"granted": False, "error": "project_unknown"}},
        )


# --- devices ----------------------------------------------------------------------------------
def test_unit_officer_registers_a_device_and_gets_its_token_once(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    client = api(world.unit_a_officer)
    response = client.post(
        reverse("api:ledger-device-list"), {"device_id": "QBQ-A-1"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["enterprise"] == world.unit_a.pk and body["device_id"] == "QBQ-A-1"
    assert response["Cache-Control"] == "no-store"
    device = Device.objects.get(pk=body["id"])
    # Only the hash is kept, and the history never shows even that.
    assert device.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in str(AuditEntry.objects.values_list("after", flat=True))
    detail = client.get(reverse("api:ledger-device-detail", args=[device.pk])).json()
    assert "token" not in detail and "token_hash" not in detail


def test_regulator_registers_a_device_for_a_unit_it_supervises(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    url = reverse("api:ledger-device-list")
    body = {"device_id": "QBQ-R-1", "enterprise": world.unit_a.pk}
    assert api(world.county_a).post(url, body, format="json").status_code == 201
    # County B cannot see unit A: it reads as "does not exist".
    refused = api(world.county_b).post(url, {**body, "device_id": "QBQ-R-2"}, format="json")
    assert refused.status_code == 400
    assert "enterprise" in refused.json()["errors"]
    # A regulator must name the unit.
    assert api(world.county_a).post(url, {"device_id": "QBQ-R-3"}, format="json").status_code == 400


def test_device_registration_refusals(world: World, lw: LedgerWorld, api: Any) -> None:
    url = reverse("api:ledger-device-list")
    assert (
        api(world.unit_a_employee).post(url, {"device_id": "QBQ-E-1"}, format="json").status_code
        == 403
    )
    # Unit B is not a blasting contractor.
    response = api(world.unit_b_officer).post(url, {"device_id": "QBQ-B-1"}, format="json")
    assert response.status_code == 400 and "enterprise" in response.json()["errors"]
    client = api(world.unit_a_officer)
    assert client.post(url, {"device_id": "QBQ-A-1"}, format="json").status_code == 201
    again = client.post(url, {"device_id": "QBQ-A-1"}, format="json")
    assert again.status_code == 400 and "device_id" in again.json()["errors"]
    assert client.post(url, {"device_id": "bad id!"}, format="json").status_code == 400
    assert api().post(url, {"device_id": "QBQ-X"}, format="json").status_code == 401


def test_only_a_supervising_regulator_blacklists_with_a_reason(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    device = make_device(world.unit_a)
    url = reverse("api:ledger-device-blacklist", args=[device.pk])
    assert api(world.unit_a_officer).post(url, {"reason": "丢失"}, format="json").status_code == 403
    assert api(world.county_b).post(url, {"reason": "丢失"}, format="json").status_code == 404
    assert api(world.county_a).post(url, {}, format="json").status_code == 400
    response = api(world.county_a).post(url, {"reason": "设备丢失"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["blacklisted"] is True
    assert response.json()["blacklist_reason"] == "设备丢失"
    again = api(world.city).post(url, {"reason": "again"}, format="json")
    assert again.status_code == 409 and again.json()["allowed"] == ["unblacklist"]

    lift = reverse("api:ledger-device-unblacklist", args=[device.pk])
    response = api(world.city).post(lift, {"reason": "已找回"}, format="json")
    assert response.status_code == 200 and response.json()["blacklisted"] is False
    assert api(world.city).post(lift, {"reason": "x"}, format="json").status_code == 409
    changes = AuditEntry.objects.filter(object_type="ledger.device", action="update")
    assert changes.count() == 2


def test_device_list_filters(world: World, lw: LedgerWorld, api: Any) -> None:
    make_device(world.unit_a)
    make_device(world.unit_a, blacklisted=True, blacklist_reason="被盗")
    client = api(world.city)
    url = reverse("api:ledger-device-list")
    assert client.get(url, {"blacklisted": "true"}).json()["count"] == 1
    assert client.get(url, {"enterprise": world.unit_a.pk}).json()["count"] == 2
    assert client.get(url, {"blacklisted": "maybe"}).status_code == 400


# --- projects ---------------------------------------------------------------------------------
def project_body(**fields: Any) -> dict[str, Any]:
    now = timezone.now()
    body = {
        "code": "BP-2026-100",
        "name": "隧道掘进爆破",
        "latitude": 26.95,
        "longitude": 112.61,
        "radius_m": 400,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=5)).isoformat(),
    }
    body.update(fields)
    return body


def test_contractor_manager_creates_and_updates_its_project(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    client = api(world.unit_a_officer)
    response = client.post(reverse("api:ledger-project-list"), project_body(), format="json")
    assert response.status_code == 201, response.content
    project = BlastingProject.objects.get(pk=response.json()["id"])
    assert project.enterprise_id == world.unit_a.pk and project.radius_m == 400
    url = reverse("api:ledger-project-detail", args=[project.pk])
    response = client.patch(url, {"radius_m": 600, "name": "改"}, format="json")
    assert response.status_code == 200 and response.json()["radius_m"] == 600
    renamed = client.patch(url, {"code": "BP-OTHER"}, format="json")
    assert renamed.status_code == 400 and "code" in renamed.json()["errors"]
    backwards = client.patch(
        url, {"ends_at": (project.starts_at - timedelta(hours=1)).isoformat()}, format="json"
    )
    assert backwards.status_code == 400 and "ends_at" in backwards.json()["errors"]
    # Regulators read it; they do not keep it.
    assert api(world.county_a).get(url).status_code == 200
    assert api(world.county_a).patch(url, {"name": "x"}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"latitude": 91}, "latitude"),
        ({"latitude": "26.9"}, "latitude"),
        ({"longitude": -180.5}, "longitude"),
        ({"radius_m": 0}, "radius_m"),
        ({"radius_m": 20_001}, "radius_m"),
        ({"radius_m": 1.5}, "radius_m"),
        ({"ends_at": "2020-01-01T00:00:00+08:00"}, "ends_at"),
        ({"code": "BP-2026-001"}, "code"),  # the world's project already has it
        ({"code": "空 格"}, "code"),
    ],
)
def test_project_input_is_checked(
    world: World, lw: LedgerWorld, api: Any, fields: dict[str, Any], field: str
) -> None:
    response = api(world.unit_a_officer).post(
        reverse("api:ledger-project-list"), project_body(**fields), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_project_creation_refusals(world: World, lw: LedgerWorld, api: Any) -> None:
    url = reverse("api:ledger-project-list")
    assert api(world.county_a).post(url, project_body(), format="json").status_code == 403
    assert api(world.unit_a_employee).post(url, project_body(), format="json").status_code == 403
    # Unit B is no blasting contractor.
    assert api(world.unit_b_officer).post(url, project_body(), format="json").status_code == 400
    other = make_project(unit_for(world, "430406"))
    detail = reverse("api:ledger-project-detail", args=[other.pk])
    assert api(world.unit_a_officer).patch(detail, {"name": "x"}, format="json").status_code == 404


# --- forbidden zones --------------------------------------------------------------------------
def zone_body(**fields: Any) -> dict[str, Any]:
    body = {
        "jurisdiction": "430405",
        "name": "东阳渡水库",
        "latitude": 26.9,
        "longitude": 112.65,
        "radius_m": 1000,
    }
    body.update(fields)
    return body


def test_regulator_creates_zones_in_its_jurisdiction_only(world: World, api: Any) -> None:
    url = reverse("api:ledger-forbidden-zone-list")
    response = api(world.county_a).post(url, zone_body(), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["jurisdiction"] == "430405"
    outside = api(world.county_a).post(url, zone_body(jurisdiction="430406"), format="json")
    assert outside.status_code == 400 and "jurisdiction" in outside.json()["errors"]
    assert (
        api(world.city).post(url, zone_body(jurisdiction="430406"), format="json").status_code
        == 201
    )
    assert api(world.unit_a_officer).post(url, zone_body(), format="json").status_code == 403
    dated = zone_body(starts_at="2026-05-02T00:00:00+08:00", ends_at="2026-05-01T00:00:00+08:00")
    assert api(world.county_a).post(url, dated, format="json").status_code == 400
    assert api(world.county_a).post(url, zone_body(radius_m=0), format="json").status_code == 400
    assert (
        api(world.county_a).post(url, zone_body(latitude=-90.01), format="json").status_code == 400
    )


def test_regulator_cannot_move_a_zone_out_of_its_jurisdiction(world: World, api: Any) -> None:
    zone = ForbiddenZone.objects.create(
        jurisdiction_id="430405", name="学校", latitude=26.9, longitude=112.6, radius_m=300
    )
    url = reverse("api:ledger-forbidden-zone-detail", args=[zone.pk])
    moved = api(world.county_a).patch(url, {"jurisdiction": "430406"}, format="json")
    assert moved.status_code == 400
    zone.refresh_from_db()
    assert zone.jurisdiction_id == "430405"
    assert (
        api(world.county_a).patch(url, {"radius_m": 500}, format="json").json()["radius_m"] == 500
    )


# --- chip UID blacklist -----------------------------------------------------------------------
def test_uid_blacklist_is_for_regulators(world: World, api: Any) -> None:
    url = reverse("api:ledger-blacklisted-uid-list")
    response = api(world.county_a).post(
        url, {"uid": "00ab12cd34ef5678", "reason": "被盗"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["uid"] == "00AB12CD34EF5678"  # normalised
    again = api(world.city).post(url, {"uid": "00AB12CD34EF5678", "reason": "x"}, format="json")
    assert again.status_code == 400 and "uid" in again.json()["errors"]
    assert (
        api(world.city).post(url, {"uid": "XYZ", "reason": "x"}, format="json").status_code == 400
    )
    assert api(world.city).get(url).json()["count"] == 1
    entry = BlacklistedUid.objects.get()
    for user in (world.unit_a_officer, world.partner_user):
        assert api(user).get(url).status_code == 403
        detail = reverse("api:ledger-blacklisted-uid-detail", args=[entry.pk])
        assert api(user).get(detail).status_code == 403
        assert (
            api(user).post(url, {"uid": "00000000", "reason": "x"}, format="json").status_code
            == 403
        )
    assert api().get(url).status_code == 401


# --- signing keys -----------------------------------------------------------------------------
def test_signing_keys_are_public(api: Any, settings: Any, tmp_path: Any) -> None:
    settings.LEDGER_SIGNING_KEY = ""
    settings.LEDGER_SIGNING_KEY_STORE = tmp_path / "key.pem"
    response = api().get(reverse("api:ledger-signing-keys"))
    assert response.status_code == 200
    (key,) = response.json()["results"]
    assert key["algorithm"] == "Ed25519" and key["current"] is True
    assert len(key["key_id"]) == 16
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_zone_times_outside_the_century_are_refused(world: World, api: Any) -> None:
    response = api(world.county_a).post(
        "/api/v1/ledger/forbidden-zones/",
        {
            "jurisdiction": "430405",
            "name": "水库",
            "latitude": 26.9,
            "longitude": 112.6,
            "radius_m": 300,
            "starts_at": "0154-12-19T12:04:31+08:00",
        },
        format="json",
    )
    assert response.status_code == 400 and "starts_at" in response.json()["errors"]
    assert not ForbiddenZone.objects.exists()
