"""The public reporting pages (no login): the form the poster's QR code opens, the receipt, the
status page by receipt code and raising a report to the county bureau; rate limits, CSRF, and
that a receipt code never travels in a URL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from weibao.reporting import services as rs
from weibao.reporting import throttles
from weibao.reporting.models import InternalReport, ReporterIdentity
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

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
CODE_RE = re.compile(r'data-testid="receipt-code">([^<]+)<')
# What differs between two renderings of the same page: the CSRF token's mask, and the path the
# language switch returns to.
VARYING_RE = re.compile(
    r'(csrfmiddlewaretoken" value="|X-CSRFToken": "|name="next" type="hidden" value=")[^"]+"'
)


@pytest.fixture
def client(client: Any, settings: Any) -> Any:
    settings.LANGUAGE_CODE = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def public_url(world: World) -> str:
    return reverse("report-public", args=[rs.channel_for(world.unit_a).token])


def form_data(**extra: Any) -> dict[str, Any]:
    return {
        "category": "unsafe_equipment",
        "location": "3号库房门口",
        "description": "防爆灯损坏",
        **extra,
    }


def receipt_of(response: Any) -> str:
    found = CODE_RE.search(response.content.decode())
    assert found, response.content.decode()
    return found.group(1).strip()


def body(response: Any) -> str:
    return str(response.content.decode())


def without_csrf(html: str) -> str:
    return VARYING_RE.sub("", html)


def look_up(client: Any, code: str) -> Any:
    return client.post(reverse("report-status"), {"receipt": code})


# --- the reporting form ---------------------------------------------------------------------------
def test_form_works_without_login_and_sets_the_device_cookie(client: Any, world: World) -> None:
    site = SiteFactory.create(enterprise=world.unit_a, name="3号库房")
    SiteFactory.create(enterprise=world.unit_b, name="别家的库房")
    response = client.get(public_url(world))
    assert response.status_code == 200
    html = body(response)
    assert world.unit_a.name in html
    assert html.count('type="radio" name="category"') == 4
    assert re.search(r'<input type="file" name="photos"[^>]*accept="image/\*"', html)
    assert 'capture="environment" multiple' in html
    assert f'value="{site.pk}"' in html and "别家的库房" not in html
    assert 'data-testid="confidentiality"' in html and 'data-testid="policy-summary"' in html
    assert "200 yuan" in html  # the default policy's reward for a general hazard
    assert "no-store" in response["Cache-Control"]
    cookie = response.cookies[throttles.DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    # The cookie is kept once set.
    again = client.get(public_url(world))
    assert throttles.DEVICE_COOKIE not in again.cookies


@pytest.mark.parametrize("case", ["unknown", "closed"])
def test_unknown_or_closed_code_is_404(client: Any, world: World, case: str) -> None:
    channel = rs.channel_for(world.unit_a)
    if case == "closed":
        channel.is_open = False
        channel.save()
        url = reverse("report-public", args=[channel.token])
    else:
        url = reverse("report-public", args=["not-a-real-code-at-all"])
    response = client.get(url)
    assert response.status_code == 404
    assert 'data-testid="unknown-code"' in body(response)
    assert client.post(url, form_data()).status_code == 404
    assert InternalReport.objects.count() == 0


def test_anonymous_report_with_a_photo_shows_the_receipt_once(client: Any, world: World) -> None:
    response = client.post(public_url(world), form_data(photos=[camera_photo()]))
    # The answer itself, not a redirect: the code must never end up in a URL.
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    code = receipt_of(response)
    report = InternalReport.objects.get()
    assert report_by_receipt(code) == report and report.anonymous
    assert report.photos.count() == 1 and report.via == "qr"
    assert not ReporterIdentity.objects.exists()
    html = body(response)
    assert "screenshot" in html and reverse("report-status") in html
    assert code not in reverse("report-status")
    # Every form and link on the page points to a URL without the code.
    for url in re.findall(r'(?:href|action)="([^"]*)"', html):
        assert code not in url and code.replace("-", "") not in url


def test_named_report_with_consent(client: Any, world: World) -> None:
    site = SiteFactory.create(enterprise=world.unit_a)
    data = form_data(
        site=site.pk,
        location="",
        name=REPORTER_NAME,
        phone=REPORTER_PHONE,
        consent_to_unit="on",
    )
    response = client.post(public_url(world), data)
    assert response.status_code == 200
    report = InternalReport.objects.get()
    assert report.site == site and not report.anonymous
    identity = ReporterIdentity.objects.get(report=report)
    assert (identity.name, identity.phone, identity.consent_to_unit) == (
        REPORTER_NAME,
        REPORTER_PHONE,
        True,
    )
    # The receipt page does not repeat who reported.
    assert REPORTER_NAME not in body(response) and REPORTER_PHONE not in body(response)


def test_errors_are_shown_on_the_fields_and_nothing_is_written(client: Any, world: World) -> None:
    response = client.post(public_url(world), {"description": SCRIPT})
    assert response.status_code == 200
    html = body(response)
    assert 'data-testid="form-errors"' in html
    assert "Choose one of the four categories." in html
    assert SCRIPT not in html and ESCAPED in html  # the text comes back, escaped
    response = client.post(public_url(world), form_data(location="", description=""))
    assert "This field is required." in body(response)
    response = client.post(public_url(world), form_data(description="d" * 3000))
    assert "at most 2000 characters" in body(response)
    response = client.post(public_url(world), form_data(description="x"))
    assert response.status_code == 200 and "receipt-code" in body(response)
    InternalReport.objects.all().delete()
    response = client.post(public_url(world), form_data(phone="call me"))
    assert "Enter a phone number" in body(response)
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", "image/jpeg")
    response = client.post(public_url(world), form_data(photos=[camera_photo(), fake]))
    assert "Photo 2:" in body(response)
    other_site = SiteFactory.create(enterprise=world.unit_b)
    response = client.post(public_url(world), form_data(site=other_site.pk))
    assert "Select a valid choice" in body(response)
    assert InternalReport.objects.count() == 0


def test_too_many_photos(client: Any, world: World, settings: Any) -> None:
    settings.REPORT_MAX_PHOTOS = 1
    response = client.post(public_url(world), form_data(photos=[camera_photo(), camera_photo()]))
    assert "Attach at most 1 photos." in body(response)
    assert InternalReport.objects.count() == 0


def test_over_the_submission_limit_is_429(client: Any, world: World, settings: Any) -> None:
    settings.REPORT_LIMIT_PER_DEVICE = 2
    settings.REPORT_LIMIT_PER_ADDRESS = 50
    client.get(public_url(world))  # the device cookie
    # A form sent back with an error does not count.
    client.post(public_url(world), {"description": "x"})
    for _ in range(2):
        assert "receipt-code" in body(client.post(public_url(world), form_data()))
    response = client.post(public_url(world), form_data())
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many reports were sent from this phone or network" in body(response)
    assert InternalReport.objects.count() == 2
    # Another phone on the same network is not blocked by this one.
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.get(public_url(world))
    assert "receipt-code" in body(other.post(public_url(world), form_data()))


def test_csrf_stays_on_and_works_for_anonymous_reporters(world: World) -> None:
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    url = public_url(world)
    assert browser.post(url, form_data()).status_code == 403
    page = browser.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body(page))
    assert token is not None
    response = browser.post(url, form_data(csrfmiddlewaretoken=token.group(1)))
    assert response.status_code == 200 and "receipt-code" in body(response)
    status_page = browser.get(reverse("report-status"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body(status_page))
    assert token is not None
    found = browser.post(
        reverse("report-status"),
        {"receipt": receipt_of(response), "csrfmiddlewaretoken": token.group(1)},
    )
    assert found.status_code == 200


# --- the status page ------------------------------------------------------------------------------
def test_status_page_shows_only_what_a_receipt_holder_may_see(client: Any, world: World) -> None:
    report, code = report_at(world, "rewarded", named=True)
    channel = rs.channel_for(world.unit_a)
    channel.payout_instructions = "凭回执码到安全科领取"
    channel.save()
    assert client.get(reverse("report-status")).status_code == 200
    response = look_up(client, code.lower().replace("-", " "))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = body(response)
    assert report.reference in html and "Rewarded" in html
    assert "已核实，正在更换" in html  # the unit's reply
    assert "200 yuan, paid on" in html
    assert REPORTER_NAME not in html and REPORTER_PHONE not in html
    assert str(world.unit_a_officer) not in html  # nothing about who handled it
    assert 'data-testid="escalate"' not in html


def test_confirmed_report_says_how_to_collect_the_reward(client: Any, world: World) -> None:
    _report, code = report_at(world, "confirmed")
    channel = rs.channel_for(world.unit_a)
    channel.payout_instructions = "凭回执码到安全科领取"
    channel.save()
    html = body(look_up(client, code))
    assert "200 yuan" in html and "凭回执码到安全科领取" in html


def test_unknown_and_malformed_codes_get_the_same_page(client: Any, world: World) -> None:
    report_at(world)
    pages = []
    for code in ("AAAA-BBBB-CCCC-DDDD-EEEE", "not a code", "", "A" * 500, "<b>x</b>"):
        response = look_up(client, code)
        assert response.status_code == 404
        pages.append(without_csrf(body(response)))
    assert len(set(pages)) == 1
    assert "No report has this code" in pages[0] and "AAAA" not in pages[0]
    escalated = client.post(reverse("report-escalate"), {"receipt": "not a code"})
    assert escalated.status_code == 404
    assert without_csrf(body(escalated)) == pages[0]


def test_lookups_over_the_limit_are_429(client: Any, world: World, settings: Any) -> None:
    settings.REPORT_LOOKUP_LIMIT_PER_ADDRESS = 3
    _report, code = report_at(world)
    for _ in range(2):
        look_up(client, "AAAA-BBBB-CCCC-DDDD-EEEE")
    assert look_up(client, code).status_code == 200  # found or not, every lookup counts
    response = look_up(client, code)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many receipt codes were checked" in body(response)
    assert client.post(reverse("report-escalate"), {"receipt": code}).status_code == 429


def test_script_in_the_unit_and_bureau_replies_is_escaped(client: Any, world: World) -> None:
    report, code = report_at(world, "verifying")
    rs.report_reject(actor=world.unit_a_officer, report=report, reason=SCRIPT)
    html = body(look_up(client, code))
    assert SCRIPT not in html and ESCAPED in html


# --- raising a report to the county bureau --------------------------------------------------------
def test_escalation_only_when_the_limit_has_passed(client: Any, world: World) -> None:
    report, code = report_at(world)
    assert 'data-testid="escalate"' not in body(look_up(client, code))
    response = client.post(reverse("report-escalate"), {"receipt": code, "note": "没人管"})
    assert response.status_code == 200
    assert 'data-testid="error"' in body(response) and "time limit" in body(response)
    report.refresh_from_db()
    assert report.escalated_at is None

    InternalReport.objects.filter(pk=report.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    html = body(look_up(client, code))
    assert 'data-testid="escalate"' in html
    assert reverse("report-escalate") in html and code not in reverse("report-escalate")
    response = client.post(reverse("report-escalate"), {"receipt": code, "note": SCRIPT})
    assert response.status_code == 200
    html = body(response)
    assert 'data-testid="done"' in html and 'data-testid="escalate"' not in html
    report.refresh_from_db()
    assert report.complaint_open and report.escalation_note == SCRIPT
    # Raised once: a second try says so and writes nothing.
    again = client.post(reverse("report-escalate"), {"receipt": code, "note": "again"})
    assert "already raised" in body(again)
    report.refresh_from_db()
    assert report.escalation_note == SCRIPT
    # The bureau's answer reaches the reporter.
    rs.report_handle_complaint(actor=world.county_a, report=report, reply="已责令单位核实")
    html = body(look_up(client, code))
    assert "已责令单位核实" in html and 'data-testid="complaint-reply"' in html


def test_escalation_note_too_long_is_a_field_error(client: Any, world: World) -> None:
    report, code = report_at(world)
    InternalReport.objects.filter(pk=report.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    response = client.post(reverse("report-escalate"), {"receipt": code, "note": "x" * 3000})
    assert response.status_code == 200
    assert "has-error" in body(response)
    report.refresh_from_db()
    assert report.escalated_at is None


def test_escalate_is_post_only(client: Any, world: World) -> None:
    assert client.get(reverse("report-escalate")).status_code == 405
