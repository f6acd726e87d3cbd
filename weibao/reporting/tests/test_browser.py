"""End to end in a real Chromium on phone-sized screens: the unit's safety officer downloads the
QR poster; an employee "scans" it (the link the poster's QR code and link annotation carry),
reports a hazard anonymously with a camera photo and keeps the receipt code; the officer
verifies, confirms and rewards the report on the report page; the employee follows the receipt
to the reward. Nothing on the officer's side names the reporter.

Run with `pytest -m browser` (the default run deselects these). On failure every open page is
saved to artifacts/screenshots/report-flow-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, FilePayload, Page
from pypdf import PdfReader

from weibao.reporting.models import InternalReport, ReportStatus
from weibao.tests.browser import SCREENSHOTS, Phones, phone_context, scrolls_sideways
from weibao.tests.factories import PASSWORD, World, camera_photo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOT_PREFIX = "report-flow-"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(scope="module", autouse=True)
def _fresh_screenshots() -> None:
    for old in SCREENSHOTS.glob(f"{SHOT_PREFIX}*.png"):
        old.unlink()


@pytest.fixture
def phones(browser: Browser, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Phones]:
    failed_before = request.session.testsfailed
    phones = Phones(browser=browser, base=str(live_server), password=PASSWORD)
    yield phones
    phones.close(request, failed_before, f"{SHOT_PREFIX}{request.node.name[5:25]}-")


def _poster_link(pdf: bytes) -> str:
    """The URI of the poster's link annotation: what the QR code printed beside it encodes."""
    page = PdfReader(BytesIO(pdf)).pages[0]
    uris = {
        annot.get_object()["/A"]["/URI"]
        for annot in page.get("/Annots") or []
        if annot.get_object().get("/A", {}).get("/URI")
    }
    assert len(uris) == 1, uris
    return str(uris.pop())


def _land(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _from_the_menu(page: Page, path: str) -> None:
    page.click("details.menu > summary")
    _land(page, f"details.menu nav a[href='{path}']")
    assert urlsplit(page.url).path == path


def test_poster_to_anonymous_report_to_reward(phones: Phones, world: World) -> None:
    officer = phones.signed_in("officer", world.unit_a_officer.username)

    # The officer prints the poster from the policy page.
    _from_the_menu(officer, "/reports/")
    _land(officer, "[data-testid=policy-link]")
    poster_href = officer.get_attribute("[data-testid=poster-link]", "href")
    assert poster_href
    response = officer.request.get(phones.base + poster_href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    link = _poster_link(response.body())
    assert urlsplit(link).path.startswith("/r/")

    # An employee scans it: a phone that has never signed in.
    reporter = phone_context(phones.browser).new_page()
    reporter.on("pageerror", lambda e: phones.js_errors.append(f"reporter: {e}"))
    phones.pages["reporter"] = reporter
    reporter.goto(phones.base + urlsplit(link).path)
    assert reporter.inner_text("[data-testid=unit-name]") == world.unit_a.name
    assert not scrolls_sideways(reporter)
    reporter.click("[data-testid=category] label:has(input[value=unsafe_equipment])")
    reporter.fill("#id_location", "3号库房门口")
    reporter.fill("#id_description", "防爆灯罩破裂，灯管外露")
    photo = camera_photo()
    payload: FilePayload = {"name": photo.name, "mimeType": "image/jpeg", "buffer": photo.read()}
    reporter.set_input_files("input[type=file]", payload)
    _land(reporter, "[data-testid=send]")
    code = reporter.inner_text("[data-testid=receipt-code]").strip()
    assert len(code) == 24 and code not in reporter.url
    report = InternalReport.objects.get()
    assert report.anonymous and report.photos.count() == 1

    # The officer finds it in the queue and takes it to a reward.
    _from_the_menu(officer, "/reports/")
    _land(officer, f"[data-testid=report-{report.pk}] a")
    assert not scrolls_sideways(officer)
    _land(officer, "[data-testid=step-start] button")
    officer.click("[data-testid=step-confirm] summary")
    officer.click("[data-testid=step-confirm] label:has(input[value=general])")
    officer.select_option("#id_confirm-hazard_category", "equipment")
    officer.fill("#id_confirm-reply", "已核实，已更换灯具")
    _land(officer, "[data-testid=step-confirm] button[type=submit]")
    officer.locator("[data-testid=hazard-link]").wait_for()
    officer.click("[data-testid=step-reward] summary")
    assert officer.input_value("#id_reward-amount") == "200.00"
    _land(officer, "[data-testid=step-reward] button[type=submit]")
    report.refresh_from_db()
    assert report.status == ReportStatus.REWARDED and report.hazard is not None

    # The employee follows the receipt: confirmed, rewarded, the reply.
    reporter.goto(f"{phones.base}/r/status/")
    reporter.fill("#id_receipt", code.lower().replace("-", " "))
    _land(reporter, "[data-testid=receipt-form] button[type=submit]")
    assert "rewarded" in (reporter.get_attribute("[data-testid=status]", "class") or "")
    assert "200" in reporter.inner_text("[data-testid=reward]")
    assert "已更换灯具" in reporter.inner_text("[data-testid=reply]")
    assert code not in reporter.url
    assert not scrolls_sideways(reporter)

    assert not phones.js_errors
    assert not phones.foreign
