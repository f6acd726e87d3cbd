"""The public endpoints (no account): a unit's channel, anonymous reporting with photos, following
a report by its receipt code and raising it to the bureau; rate limits, idempotency and the
answers to bad or guessed input."""

from __future__ import annotations

import json
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from weibao.core.models import IdempotencyRecord
from weibao.reporting import services as rs
from weibao.reporting.models import InternalReport, ReporterIdentity, ReportPhoto
from weibao.reporting.selectors import report_by_receipt
from weibao.tests.factories import (
    REPORTER_NAME,
    REPORTER_PHONE,
    SiteFactory,
    World,
    camera_photo,
    report_at,
)

pytestmark = pytest.mark.django_db

SUBMIT = reverse("api:public-internal-report-list")
UNKNOWN = "AAAA-BBBB-CCCC-DDDD-EEEE"
MALFORMED = ("not-a-code", "0" * 64, "<script>", "ÄÖÜ-1234")
DEVICE = "device-0123456789abcdef"


def channel_url(token: str) -> str:
    return reverse("api:public-report-channel-detail", args=[token])


def status_url(receipt: str) -> str:
    return reverse("api:public-internal-report-detail", args=[receipt])


def escalate_url(receipt: str) -> str:
    return reverse("api:public-internal-report-escalate", args=[receipt])


def payload(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "unit_token": rs.channel_for(world.unit_a).token,
        "category": "unsafe_equipment",
        "description": "2号库避雷针断了",
        "location": "2号库",
        **extra,
    }


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


# --- the channel --------------------------------------------------------------------------------
def test_channel_shows_the_unit_its_sites_and_policy(world: World, api: Any) -> None:
    channel = rs.channel_for(world.unit_a)
    rs.channel_save(
        actor=world.unit_a_officer, channel=channel, data={"payout_instructions": "凭回执码领取"}
    )
    site = SiteFactory.create(enterprise=world.unit_a, name="1号库")
    SiteFactory.create(enterprise=world.unit_b, name="别家的库")
    response = api().get(channel_url(channel.token))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "unit": world.unit_a.name,
        "is_open": True,
        "sites": [{"id": site.pk, "name": "1号库"}],
        "policy": {
            "reward_general": "200.00",
            "reward_major": "2000.00",
            "reward_cap": "10000.00",
            "verify_within": 5,
            "verify_in_working_days": True,
            "payout_instructions": "凭回执码领取",
        },
    }


def test_unknown_or_closed_channel_is_404(world: World, api: Any) -> None:
    channel = rs.channel_for(world.unit_a)
    assert problem(api().get(channel_url("no-such-code")), 404)
    rs.channel_save(actor=world.unit_a_officer, channel=channel, data={"is_open": False})
    assert problem(api().get(channel_url(channel.token)), 404)
    body = problem(api().post(SUBMIT, payload(world), format="json"), 400)
    assert "unit_token" in body["errors"]
    assert not InternalReport.objects.exists()


# --- reporting --------------------------------------------------------------------------------
def test_anonymous_report_with_a_real_photo(world: World, api: Any) -> None:
    response = api().post(
        SUBMIT, {**payload(world), "photos": [camera_photo()]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"receipt", "reference", "status", "verify_by"}
    assert body["status"] == "submitted" and response["Cache-Control"] == "no-store"
    report = report_by_receipt(body["receipt"])
    assert report is not None and report.reference == body["reference"]
    assert report.via == "qr" and report.anonymous
    assert not ReporterIdentity.objects.exists()
    with report.photos.get().file.open("rb") as handle:
        data = handle.read()
    assert not Image.open(BytesIO(data)).getexif() and REPORTER_NAME.encode() not in data
    # The receipt follows it.
    status = api().get(status_url(body["receipt"]))
    assert status.status_code == 200
    assert status.json()["reference"] == body["reference"]
    assert status.json()["status"] == "submitted" and status["Cache-Control"] == "no-store"


def test_named_report_as_json_with_a_site(world: World, api: Any) -> None:
    site = SiteFactory.create(enterprise=world.unit_a)
    response = api().post(
        SUBMIT,
        payload(world, site=site.pk, location="", name=REPORTER_NAME, phone=REPORTER_PHONE),
        format="json",
    )
    assert response.status_code == 201, response.content
    report = InternalReport.objects.get()
    assert report.site_id == site.pk and not report.anonymous
    assert (report.identity.name, report.identity.user_id) == (REPORTER_NAME, None)
    assert REPORTER_NAME not in response.content.decode()


def test_bad_input_writes_nothing(world: World, api: Any, settings: Any) -> None:
    other_site = SiteFactory.create(enterprise=world.unit_b)
    client = api()
    cases = [
        (payload(world, site=other_site.pk), "site"),
        (payload(world, site="1"), "site"),
        (payload(world, category="rumour"), "category"),
        (payload(world, description="x" * 2001), "description"),
        (payload(world, location=""), "location"),
        (payload(world, unit_token="guessed"), "unit_token"),
        (payload(world, anonymous="yes"), "anonymous"),
        ({k: v for k, v in payload(world).items() if k != "unit_token"}, "unit_token"),
    ]
    for body, field in cases:
        errors = problem(client.post(SUBMIT, body, format="json"), 400)["errors"]
        assert field in errors, (body, errors)
    not_a_photo = camera_photo()
    not_a_photo.file = BytesIO(b"%PDF-1.4 not a photo")
    errors = problem(
        client.post(SUBMIT, {**payload(world), "photos": [not_a_photo]}, format="multipart"), 400
    )["errors"]
    assert "photos[0]" in errors
    assert not InternalReport.objects.exists() and not ReportPhoto.objects.exists()


def test_oversized_photo_is_refused_and_nothing_written(
    world: World, api: Any, settings: Any
) -> None:
    photo = camera_photo(size=(200, 200))
    settings.MAX_PHOTO_BYTES = photo.size - 1
    response = api().post(SUBMIT, {**payload(world), "photos": [photo]}, format="multipart")
    body = problem(response, 400)
    assert list(body["errors"]) == ["photos[0]"]
    assert "the limit is" in body["errors"]["photos[0]"][0]
    assert not InternalReport.objects.exists() and not ReportPhoto.objects.exists()
    settings.MAX_PHOTO_BYTES = photo.size
    photo.seek(0)
    assert (
        api().post(SUBMIT, {**payload(world), "photos": [photo]}, format="multipart").status_code
        == 201
    )


def test_script_text_comes_back_verbatim_as_json(world: World, api: Any) -> None:
    script = '<script>alert("x")</script>'
    response = api().post(SUBMIT, payload(world, description=script), format="json")
    assert response.status_code == 201
    report = InternalReport.objects.get()
    assert report.description == script
    unit_view = api(world.unit_a_officer).get(
        reverse("api:internal-report-detail", args=[report.pk])
    )
    assert unit_view["Content-Type"] == "application/json"
    assert unit_view.json()["description"] == script
    rs.report_start(actor=world.unit_a_officer, report=report)
    rs.report_reject(actor=world.unit_a_officer, report=report, reason=f"无此情况{script}")
    status = api().get(status_url(response.json()["receipt"]))
    assert status["Content-Type"] == "application/json"
    assert status.json()["reply"] == f"无此情况{script}"


# --- following a report -----------------------------------------------------------------------
def test_status_shows_only_what_the_reporter_may_see(world: World, api: Any) -> None:
    report, code = report_at(world, "rewarded", named=True)
    body = api().get(status_url(code.lower().replace("-", " "))).json()
    assert body["status"] == "rewarded" and body["reward_amount"] == "200.00"
    assert body["reply"] == "已核实，正在更换" and body["unit"] == world.unit_a.name
    assert body["may_escalate"] is False
    text = json.dumps(body, ensure_ascii=False)
    for secret in (REPORTER_NAME, REPORTER_PHONE, str(world.unit_a_officer), report.receipt_hash):
        assert secret not in text
    assert "description" not in body and "hazard" not in body


def test_unknown_and_malformed_receipts_get_the_same_404(world: World, api: Any) -> None:
    report_at(world)
    client = api()
    first = client.get(status_url(UNKNOWN))
    body = problem(first, 404)
    assert body["detail"] == "No report has this receipt code. Check the code and try again."
    for code in MALFORMED:
        response = client.get(status_url(code))
        assert response.status_code == 404 and response.content == first.content, code
    for code in (UNKNOWN, *MALFORMED):
        response = client.post(escalate_url(code), {"note": "x"}, format="json")
        assert response.status_code == 404 and response.content == first.content, code


def test_raise_to_the_bureau_only_after_the_time_limit_and_once(world: World, api: Any) -> None:
    report, code = report_at(world)
    client = api()
    early = problem(client.post(escalate_url(code), {"note": "没人管"}, format="json"), 409)
    assert report.verify_by.isoformat() in early["detail"]
    InternalReport.objects.filter(pk=report.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    assert client.get(status_url(code)).json()["may_escalate"] is True
    assert (
        "note"
        in problem(client.post(escalate_url(code), {"note": 5}, format="json"), 400)["errors"]
    )
    response = client.post(escalate_url(code), {"note": "单位超期未核实"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["escalated_at"] is not None and body["may_escalate"] is False
    report.refresh_from_db()
    assert report.complaint_open and report.escalation_note == "单位超期未核实"
    assert problem(client.post(escalate_url(code), {}, format="json"), 409)


# --- rate limits --------------------------------------------------------------------------------
def test_submissions_are_rate_limited_per_device_and_address(
    world: World, api: Any, settings: Any
) -> None:
    settings.REPORT_LIMIT_PER_DEVICE = 2
    settings.REPORT_LIMIT_PER_ADDRESS = 3
    cache.clear()
    device = api()
    for _ in range(2):
        response = device.post(SUBMIT, payload(world), format="json", HTTP_X_DEVICE_ID=DEVICE)
        assert response.status_code == 201, response.content
    # A refused form costs nothing.
    bad = device.post(
        SUBMIT, payload(world, category="x"), format="json", HTTP_X_DEVICE_ID="d" * 20
    )
    assert bad.status_code == 400
    limited = device.post(SUBMIT, payload(world), format="json", HTTP_X_DEVICE_ID=DEVICE)
    body = problem(limited, 429)
    assert int(limited["Retry-After"]) > 0
    assert body["title"] == "Too many requests"
    assert body["detail"].startswith("Too many reports were sent from this phone or network.")
    # Another phone on the same network still gets through, up to the address's limit.
    other = device.post(SUBMIT, payload(world), format="json", HTTP_X_DEVICE_ID="e" * 20)
    assert other.status_code == 201
    chinese = api(language="zh-hans").post(
        SUBMIT, payload(world), format="json", HTTP_X_DEVICE_ID="f" * 20
    )
    assert problem(chinese, 429)["title"] == "请求过于频繁"
    assert InternalReport.objects.count() == 3


def test_receipt_lookups_are_rate_limited(world: World, api: Any, settings: Any) -> None:
    settings.REPORT_LOOKUP_LIMIT_PER_ADDRESS = 3
    cache.clear()
    _report, code = report_at(world)
    client = api()
    assert client.get(status_url(UNKNOWN)).status_code == 404
    assert client.get(status_url("bad")).status_code == 404
    assert client.get(status_url(code)).status_code == 200
    # Past the limit even the right code waits, so codes cannot be tried in bulk.
    limited = client.get(status_url(code))
    body = problem(limited, 429)
    assert body["detail"].startswith("Too many receipt codes were checked from this network.")
    assert int(limited["Retry-After"]) > 0
    assert problem(client.post(escalate_url(code), {}, format="json"), 429)


# --- idempotency ----------------------------------------------------------------------------
def test_a_retried_submission_returns_the_first_receipt(world: World, api: Any) -> None:
    client = api()
    body = {**payload(world), "photos": [camera_photo()]}
    first = client.post(SUBMIT, body, format="multipart", HTTP_IDEMPOTENCY_KEY="retry-0001")
    again = client.post(
        SUBMIT,
        {**payload(world), "photos": [camera_photo()]},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="retry-0001",
    )
    assert first.status_code == again.status_code == 201, again.content
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert InternalReport.objects.count() == 1 and ReportPhoto.objects.count() == 1
    # The receipt is kept nowhere readable: the record holds it sealed under the key.
    record = IdempotencyRecord.objects.get()
    assert first.json()["receipt"] not in json.dumps(record.response_body)
    assert "retry-0001" not in record.key and record.user_id == 0
    changed = client.post(
        SUBMIT,
        {**payload(world, description="别的"), "photos": [camera_photo()]},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="retry-0001",
    )
    assert problem(changed, 422)
    json_first = client.post(SUBMIT, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="j-1")
    json_again = client.post(SUBMIT, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="j-1")
    assert json_again.json()["receipt"] == json_first.json()["receipt"]
    assert InternalReport.objects.count() == 2
    bad_key = client.post(SUBMIT, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="ü")
    assert "Idempotency-Key" in problem(bad_key, 400)["errors"]


def test_a_replayed_receipt_is_the_first_answer_with_its_headers(world: World, api: Any) -> None:
    from weibao.core.api import idempotency

    client = api()
    first = client.post(SUBMIT, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="hdr-0001")
    again = client.post(SUBMIT, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="hdr-0001")
    assert first.status_code == again.status_code == 201
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    # the receipt is shown once, and its replay is not cached either
    assert again["Cache-Control"] == first["Cache-Control"] == "no-store"
    # A record sealed before the envelope (the bare body) still replays, not cached.
    secret = idempotency._derive("seal", "anonymous", "hdr-0001")
    record = IdempotencyRecord.objects.get()
    bare = idempotency._unseal(secret, record.response_body)["data"]
    record.response_body = idempotency._seal(secret, bare)
    record.save()
    old = client.post(SUBMIT, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="hdr-0001")
    assert old.status_code == 201 and old.content == first.content
    assert old["Content-Type"] == "application/json" and old["Cache-Control"] == "no-store"
    assert InternalReport.objects.count() == 1


def test_public_endpoints_need_no_csrf_or_session(world: World, api: Any) -> None:
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    response = client.post(SUBMIT, payload(world), format="json")
    assert response.status_code == 201, response.content
