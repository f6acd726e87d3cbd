"""Firing authorization: signed answers, every refusal, every per-UID result, bad input, and a
query count that does not grow with the number of UIDs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from weibao.ledger import firing, services, signing
from weibao.ledger.ingest import ingest_rows
from weibao.ledger.models import (
    BlacklistedUid,
    Device,
    FiringAuthorization,
    ForbiddenZone,
    Item,
    ItemState,
)
from weibao.ledger.tests.test_devices_api import make_project, unit_for
from weibao.ledger.tests.test_ingest import at, chain
from weibao.registry.models import Enterprise
from weibao.tests.factories import LedgerWorld, World, ledger_world, shell_code

pytestmark = pytest.mark.django_db

URL = "/api/v1/ledger/firing-authorizations/"
# Inside the world's project (centre 26.97, 112.37, radius 500 m).
HERE = {"latitude": 26.9712, "longitude": 112.3711}


@pytest.fixture(autouse=True)
def _signing_key(settings: Any, tmp_path: Any) -> None:
    # Never the developer's key store.
    settings.LEDGER_SIGNING_KEY = ""
    settings.LEDGER_SIGNING_KEY_STORE = tmp_path / "keys" / "ledger-signing-key.pem"


@pytest.fixture
def lw(world: World) -> LedgerWorld:
    return ledger_world(world)


@pytest.fixture
def device(world: World, lw: LedgerWorld) -> tuple[Device, str]:
    return services.device_register(
        actor=world.unit_a_officer, enterprise=world.unit_a, device_id="QBQ-0001"
    )


def uid(n: int) -> str:
    return f"{n:016X}"


def item(n: int, state: str, holder: Enterprise) -> Item:
    return Item.objects.create(
        code=shell_code(n),
        level="item",
        product="electronic_detonator",
        quantity=1,
        chip_uid=uid(n),
        state=state,
        holder=holder,
        last_event_at=timezone.now() - timedelta(days=1),
        last_event_kind="stored_in",
    )


def ask(api: Any, token: str, lw: LedgerWorld, uids: list[str], **fields: Any) -> Any:
    body: dict[str, Any] = {
        "device_id": "QBQ-0001",
        **HERE,
        "project": lw.project.code,
        "unit": lw.contractor.uscc,
        "uids": uids,
    }
    body.update(fields)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client.post(URL, body, format="json")


def published(api: Any) -> dict[str, str]:
    keys = api().get(reverse("api:ledger-signing-keys")).json()["results"]
    return {k["key_id"]: k["public_key"] for k in keys}


# --- signing ----------------------------------------------------------------------------------
def test_answer_verifies_with_the_published_key_and_not_once_altered(
    api: Any, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    item(1, ItemState.IN_STORE, lw.contractor)
    response = ask(api, device[1], lw, [uid(1)])
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["algorithm"] == "Ed25519"
    keys = published(api)
    # What a device does (the docstring's example).
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[answer["key_id"]]))
    message = json.dumps(
        answer["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    key.verify(base64.b64decode(answer["signature"]), message)
    assert signing.verify(answer, keys[answer["key_id"]])

    altered = json.loads(json.dumps(answer))
    altered["payload"]["results"][0]["expires_at"] = "2099-01-01T00:00:00+08:00"
    assert not signing.verify(altered, keys[answer["key_id"]])
    with pytest.raises(InvalidSignature):
        key.verify(base64.b64decode(answer["signature"]), signing.canonical(altered["payload"]))
    refused = json.loads(json.dumps(answer))
    refused["payload"]["granted"] = False
    assert not signing.verify(refused, keys[answer["key_id"]])


def test_key_is_generated_once_private_and_reused(settings: Any) -> None:
    first = signing.signer()
    store = settings.LEDGER_SIGNING_KEY_STORE
    assert store.exists() and (os.stat(store).st_mode & 0o777) == 0o600
    signing._signer.cache_clear()
    again = signing.signer()
    assert again.key_id == first.key_id
    raw = first.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert first.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_configured_key_and_retired_keys(settings: Any, api: Any) -> None:
    configured, retired = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    settings.LEDGER_SIGNING_KEY = (
        configured.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
        .strip()  # as the settings' *_FILE helper reads it
    )
    settings.LEDGER_SIGNING_RETIRED_KEYS = (
        retired.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    answer = signing.sign({"granted": True})
    assert answer["key_id"] == signing.key_id_of(configured.public_key())
    keys = api().get(reverse("api:ledger-signing-keys")).json()["results"]
    assert [k["current"] for k in keys] == [True, False]
    assert keys[1]["key_id"] == signing.key_id_of(retired.public_key())
    assert signing.verify(answer, keys[0]["public_key"])
    assert not signing.verify(answer, keys[1]["public_key"])
    assert not settings.LEDGER_SIGNING_KEY_STORE.exists()


# --- per-UID results --------------------------------------------------------------------------
def test_every_per_uid_result(
    api: Any, world: World, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    unit_b = unit_for(world, "430406")
    item(1, ItemState.IN_STORE, lw.contractor)
    item(2, ItemState.ISSUED, lw.contractor)
    item(3, ItemState.FIRED, lw.contractor)
    item(4, ItemState.DESTROYED, lw.contractor)
    item(5, ItemState.LOST, lw.contractor)
    item(6, ItemState.IN_STORE, unit_b)
    item(7, ItemState.IN_TRANSIT, lw.contractor)
    item(8, ItemState.IN_STORE, lw.contractor)
    BlacklistedUid.objects.create(uid=uid(8), reason="召回")
    BlacklistedUid.objects.create(uid=uid(10), reason="被盗")
    uids = [uid(n) for n in range(1, 11)]
    moment = timezone.now().replace(microsecond=0)
    response = ask(api, device[1], lw, uids, at=moment.isoformat(), nonce="req-42")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    payload = response.json()["payload"]
    assert payload["granted"] is True and "error" not in payload
    assert payload["nonce"] == "req-42" and payload["work_codes"] == 2
    assert payload["latitude"] == "26.971200" and payload["longitude"] == "112.371100"
    results = {r["uid"]: r for r in payload["results"]}
    assert [r["uid"] for r in payload["results"]] == uids  # in the order asked
    errors = {u: r.get("error") for u, r in results.items()}
    assert errors == {
        uid(1): None,
        uid(2): None,
        uid(3): "used",
        uid(4): "used",
        uid(5): "lost",
        uid(6): "not_held_by_unit",
        uid(7): "not_held_by_unit",
        uid(8): "blacklisted",
        uid(9): "unknown",
        uid(10): "blacklisted",
    }
    expires = timezone.localtime(moment + timedelta(minutes=120)).isoformat()
    for n in (1, 2):
        result = results[uid(n)]
        assert result["expires_at"] == expires
        assert len(result["work_code"]) == 8
        assert set(result["work_code"]) <= set(firing.WORK_CODE_ALPHABET)
        assert result["work_code"] == firing.work_code(uid(n), lw.project.code, expires)
    assert results[uid(1)]["work_code"] != results[uid(2)]["work_code"]

    record = FiringAuthorization.objects.get()
    assert record.answer == response.json()
    assert (record.uid_count, record.granted, record.error) == (10, 2, "")
    assert record.enterprise_id == lw.contractor.pk and record.project_id == lw.project.pk


def test_work_codes_never_outlive_the_project(
    api: Any, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    lw.project.ends_at = timezone.now() + timedelta(minutes=30)
    lw.project.save()
    item(1, ItemState.IN_STORE, lw.contractor)
    result = ask(api, device[1], lw, [uid(1)]).json()["payload"]["results"][0]
    assert result["expires_at"] == timezone.localtime(lw.project.ends_at).isoformat(
        timespec="seconds"
    )


def test_ingested_history_then_the_post_blast_report(
    api: Any, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    # Ten detonators: 1 issued and fired, 2 returned, 3-5 in the contractor's magazine,
    # 6-10 still at the seller.
    assert ingest_rows(chain(lw)).accepted
    uids = [uid(n) for n in range(1, 11)]
    payload = ask(api, device[1], lw, uids).json()["payload"]
    got = {r["uid"]: r.get("error", "ok") for r in payload["results"]}
    assert got == {
        uid(1): "used",
        **{uid(n): "ok" for n in range(2, 6)},
        **{uid(n): "not_held_by_unit" for n in range(6, 11)},
    }
    # Issued to the blaster for the project, then fired: the post-blast report closes it.
    common = {"code": shell_code(3), "unit": lw.contractor.uscc}
    common["person"] = lw.blaster.identity_number
    report = [
        {**common, "event": "issued", "at": at(60), "project": lw.project.code},
        {**common, "event": "fired", "at": at(61), "latitude": "26.9712", "longitude": "112.3711"},
    ]
    assert ingest_rows(report).accepted
    again = ask(api, device[1], lw, [uid(2), uid(3)]).json()["payload"]["results"]
    assert [r.get("error", "ok") for r in again] == ["ok", "used"]


# --- request-level refusals -------------------------------------------------------------------
def refusal(response: Any) -> str:
    assert response.status_code == 200, response.content
    payload = response.json()["payload"]
    assert payload["granted"] is False and "results" not in payload
    record = FiringAuthorization.objects.latest("id")
    assert record.error == payload["error"] and record.granted == 0
    assert record.answer == response.json()
    return str(payload["error"])


def test_device_refusals(
    api: Any, world: World, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    item(1, ItemState.IN_STORE, lw.contractor)
    token = device[1]
    # The id sent is not the device the token belongs to.
    assert refusal(ask(api, token, lw, [uid(1)], device_id="QBQ-9999")) == "device_unknown"
    unit_b = unit_for(world, "430406")
    assert refusal(ask(api, token, lw, [uid(1)], unit=unit_b.uscc)) == "device_not_of_unit"
    assert refusal(ask(api, token, lw, [uid(1)], unit="91430100MA4L000000")) == "device_not_of_unit"
    services.device_blacklist(actor=world.county_a, device=device[0], reason="丢失")
    assert refusal(ask(api, token, lw, [uid(1)])) == "device_blacklisted"
    services.device_unblacklist(actor=world.county_a, device=device[0], reason="找回")
    assert ask(api, token, lw, [uid(1)]).json()["payload"]["granted"] is True


def test_a_device_of_another_unit(api: Any, world: World, lw: LedgerWorld) -> None:
    unit_b = unit_for(world, "430406")
    _device, token = services.device_register(
        actor=world.unit_b_officer, enterprise=unit_b, device_id="QBQ-0001-B"
    )
    item(1, ItemState.IN_STORE, lw.contractor)
    # Claiming unit A: refused. As unit B, unit A's project is not one of its own.
    mine = {"device_id": "QBQ-0001-B"}
    assert refusal(ask(api, token, lw, [uid(1)], **mine)) == "device_not_of_unit"
    as_b = ask(api, token, lw, [uid(1)], unit=unit_b.uscc, **mine)
    assert refusal(as_b) == "project_unknown"
    # With a project of its own, unit A's detonators are not unit B's to fire.
    project_b = make_project(unit_b, latitude=HERE["latitude"], longitude=HERE["longitude"])
    results = ask(api, token, lw, [uid(1)], unit=unit_b.uscc, project=project_b.code, **mine)
    assert results.json()["payload"]["results"] == [{"uid": uid(1), "error": "not_held_by_unit"}]
    assert FiringAuthorization.objects.filter(enterprise=unit_b).count() == 3


def test_unit_not_active(api: Any, lw: LedgerWorld, device: tuple[Device, str]) -> None:
    lw.contractor.status = Enterprise.Status.SUSPENDED
    lw.contractor.save()
    assert refusal(ask(api, device[1], lw, [uid(1)])) == "unit_not_active"


def test_project_zone_and_time_refusals(
    api: Any, world: World, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    token = device[1]
    assert refusal(ask(api, token, lw, [uid(1)], project="BP-NONE")) == "project_unknown"
    # 500 m radius: 0.01° of latitude is about 1.1 km away.
    far = {"latitude": 26.98, "longitude": 112.37}
    assert refusal(ask(api, token, lw, [uid(1)], **far)) == "outside_permitted_zone"

    zone = ForbiddenZone.objects.create(
        jurisdiction_id="430405", name="学校", latitude=26.972, longitude=112.372, radius_m=300
    )
    assert refusal(ask(api, token, lw, [uid(1)])) == "inside_forbidden_zone"
    # Not in force any more: no refusal.
    zone.ends_at = timezone.now() - timedelta(hours=1)
    zone.save()
    assert ask(api, token, lw, [uid(1)]).json()["payload"]["granted"] is True
    # A zone nearby whose circle does not reach the device.
    ForbiddenZone.objects.create(
        jurisdiction_id="430405", name="水库", latitude=26.975, longitude=112.3711, radius_m=300
    )
    assert ask(api, token, lw, [uid(1)]).json()["payload"]["granted"] is True

    lw.project.starts_at = timezone.now() + timedelta(minutes=30)
    lw.project.save()
    assert refusal(ask(api, token, lw, [uid(1)])) == "outside_time_window"
    later = (timezone.now() + timedelta(minutes=60)).isoformat()
    assert ask(api, token, lw, [uid(1)], at=later).json()["payload"]["granted"] is True


@pytest.mark.parametrize(
    ("offset", "radius", "inside"),
    [
        ((0, 0.09), 9_000, True),  # 8.92 km east
        ((0, 0.09), 8_800, False),
        ((-0.08, 0), 8_950, True),  # 8.90 km south
        ((-0.08, 0), 8_850, False),
        # Larger than the API allows (made elsewhere): still found. 44.5 km north.
        ((0.4, 0), 45_000, True),
        ((0.4, 0), 44_000, False),
    ],
)
def test_a_large_zone_reaches_from_afar(
    api: Any,
    lw: LedgerWorld,
    device: tuple[Device, str],
    offset: tuple[float, float],
    radius: int,
    inside: bool,
) -> None:
    ForbiddenZone.objects.create(
        jurisdiction_id="430405",
        name="机场",
        latitude=HERE["latitude"] + offset[0],
        longitude=HERE["longitude"] + offset[1],
        radius_m=radius,
    )
    payload = ask(api, device[1], lw, [uid(1)]).json()["payload"]
    assert (payload.get("error") == "inside_forbidden_zone") is inside


# --- malformed requests -----------------------------------------------------------------------
def test_repeated_uids_are_a_400_naming_them(
    api: Any, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    uids = [uid(1), uid(2), uid(1), uid(3), uid(2).lower()]
    response = ask(api, device[1], lw, uids)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    (message,) = response.json()["errors"]["uids"]
    assert uid(1) in message and uid(2) in message and uid(3) not in message
    assert not FiringAuthorization.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"latitude": 90.0001}, "latitude"),
        ({"latitude": -91}, "latitude"),
        ({"longitude": 180.5}, "longitude"),
        ({"longitude": -181}, "longitude"),
        ({"latitude": "26.97"}, "latitude"),
        ({"latitude": None}, "latitude"),
        ({"longitude": True}, "longitude"),
        ({"uids": []}, "uids"),
        ({"uids": "0000000000000001"}, "uids"),
        ({"uids": ["0000000000000001", "not-hex"]}, "uids[1]"),
        ({"uids": [f"{n:016X}" for n in range(1001)]}, "uids"),
        ({"at": "2020-01-01T00:00:00+08:00"}, "at"),
        ({"nonce": "with space"}, "nonce"),
        ({"project": None}, "project"),
    ],
)
def test_malformed_requests_are_400_and_not_stored(
    api: Any, lw: LedgerWorld, device: tuple[Device, str], fields: dict[str, Any], field: str
) -> None:
    body = {"uids": [uid(1)], **fields}
    response = ask(api, device[1], lw, body.pop("uids"), **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not FiringAuthorization.objects.exists()


def test_a_body_that_is_not_json(api: Any, lw: LedgerWorld, device: tuple[Device, str]) -> None:
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device[1]}")
    response = client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_only_a_device_token_may_ask(api: Any, world: World, lw: LedgerWorld) -> None:
    anonymous = api().post(URL, {}, format="json")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Device"
    # A user's token is not a device's.
    user_token = Token.objects.create(user=world.unit_a_officer)
    for header in (
        f"Token {user_token.key}",
        "Device nope",
        "Device " + "x" * 43,
        "Device a b",
        "Device",
    ):
        client = api()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.post(URL, {}, format="json").status_code == 401, header


def test_a_device_cannot_read_the_list(api: Any, device: tuple[Device, str]) -> None:
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device[1]}")
    assert client.get(URL).status_code == 401


# --- records ----------------------------------------------------------------------------------
def test_regulators_and_the_unit_read_the_records(
    api: Any, world: World, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    item(1, ItemState.IN_STORE, lw.contractor)
    ask(api, device[1], lw, [uid(1)])
    ask(api, device[1], lw, [uid(1)], project="BP-NONE")
    for user in (world.county_a, world.city, world.unit_a_employee):
        rows = api(user).get(URL).json()["results"]
        assert [r["error"] for r in rows] == ["project_unknown", ""], user
        assert "answer" not in rows[0]
    refused = api(world.county_a).get(URL, {"refused": "true"}).json()
    assert refused["count"] == 1 and refused["results"][0]["error_display"]
    granted = FiringAuthorization.objects.get(error="")
    detail = api(world.county_a).get(f"{URL}{granted.pk}/").json()
    assert detail["answer"] == granted.answer and detail["device_id"] == "QBQ-0001"
    assert detail["project_code"] == lw.project.code
    assert api(world.county_b).get(URL).json()["count"] == 0
    assert api(world.unit_b_officer).get(f"{URL}{granted.pk}/").status_code == 404


# --- cost -------------------------------------------------------------------------------------
def test_queries_do_not_grow_with_the_uids(
    api: Any, lw: LedgerWorld, device: tuple[Device, str]
) -> None:
    for n in range(1, 401):
        item(n, ItemState.IN_STORE, lw.contractor)
    ForbiddenZone.objects.create(
        jurisdiction_id="430405", name="远处", latitude=27.5, longitude=112.9, radius_m=300
    )
    with CaptureQueriesContext(connection) as few:
        assert ask(api, device[1], lw, [uid(1)]).json()["payload"]["work_codes"] == 1
    with CaptureQueriesContext(connection) as many:
        response = ask(api, device[1], lw, [uid(n) for n in range(1, 401)])
    assert response.json()["payload"]["work_codes"] == 400
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
    # Device, project, zones, blacklist, items, insert.
    assert len(many) <= 6, [q["sql"][:120] for q in many.captured_queries]


def test_distance() -> None:
    # One degree of latitude on the mean sphere.
    assert firing.distance_m(26.0, 112.0, 27.0, 112.0) == pytest.approx(111_195, rel=1e-4)
    assert firing.distance_m(26.97, 112.37, 26.97, 112.37) == 0
    # Across the antimeridian.
    assert firing.distance_m(0, 179.9995, 0, -179.9995) == pytest.approx(111.2, rel=1e-3)
