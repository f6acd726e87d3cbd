"""End to end in a real Chromium on a phone-sized screen: a county officer inspects a unit with the
form's script (paged items, a photo, an offline save kept on the phone, a drawn signature), the
failed item becomes a hazard, the unit's safety officer rectifies it and the officer accepts it.

Run with `pytest -m browser` (the default run deselects these). On failure every open page is
saved to artifacts/screenshots/inspection-flow-*.png.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import (
    Browser,
    FilePayload,
    Locator,
    Page,
)

from weibao.hazards.models import Hazard, HazardAttachment, HazardStatus
from weibao.inspections.models import Answer, AnswerPhoto, Inspection
from weibao.tests.browser import (
    SCREENSHOTS,
    Phones,
    scrolls_sideways,
)
from weibao.tests.factories import PASSWORD, World, make_checklist

# Jurisdictions come from a data migration; a transactional test flushes them afterwards, so
# each test gets them back from the serialized copy.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOT_PREFIX = "inspection-flow-"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    # The live server runs in this process: the uploads land in the test's directory.
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def phones(browser: Browser, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Phones]:
    for old in SCREENSHOTS.glob(f"{SHOT_PREFIX}*.png"):
        old.unlink()
    failed_before = request.session.testsfailed
    phones = Phones(browser=browser, base=str(live_server), password=PASSWORD)
    yield phones
    phones.close(request, failed_before, SHOT_PREFIX)


def png(color: str = "orange") -> FilePayload:
    """A small photo as the file chooser would hand it over."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="PNG")
    return {"name": "photo.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


def _item(page: Page, position: int) -> Locator:
    return page.locator(f"[data-testid=item-{position}]")


def _wait_sync_state(page: Page, state: str) -> None:
    page.wait_for_function(
        "s => document.querySelector('[data-testid=sync-status]').dataset.state === s", arg=state
    )


def _click_and_land(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _answers(inspection: Inspection) -> dict[int, tuple[str, str]]:
    return {a.position: (a.result, a.note) for a in Answer.objects.filter(inspection=inspection)}


def test_inspection_on_a_phone_through_to_an_accepted_hazard(phones: Phones, world: World) -> None:
    checklist = make_checklist()  # item 1 is major, items 2 and 3 general
    base = phones.base

    # --- 1. the county officer starts an inspection of unit A with a colleague ------------------
    officer = phones.signed_in("county-a", "county_a")
    officer.goto(f"{base}/inspections/new/?enterprise={world.unit_a.pk}")
    officer.select_option("#id_checklist", str(checklist.pk))
    officer.check(f"input[name=inspectors][value='{world.county_a2.pk}']")
    _click_and_land(officer, "[data-testid=create]")
    inspection = Inspection.objects.get(enterprise=world.unit_a)
    assert urlsplit(officer.url).path == f"/inspections/{inspection.pk}/edit/"
    strings = json.loads(officer.text_content("#inspection-strings") or "{}")

    # One item per screen.
    assert _item(officer, 1).is_visible() and not _item(officer, 2).is_visible()
    officer.check("[data-testid=result-1-pass]")
    officer.click("[data-testid=next]")
    _item(officer, 2).wait_for()
    officer.check("[data-testid=result-2-fail]")
    _item(officer, 2).locator("textarea[name^=note-]").fill("防盗门锁损坏")
    officer.set_input_files("[data-testid=photo-2]", files=[png()])
    # Online, the photo goes up at once (with the answers so far).
    _item(officer, 2).locator(".queued.uploaded").wait_for()
    assert not scrolls_sideways(officer), "item card with a photo is wider than the phone"

    officer.click("[data-testid=prev]")
    _item(officer, 1).wait_for()
    assert officer.is_checked("[data-testid=result-1-pass]")
    officer.click("[data-testid=next]")
    officer.click("[data-testid=next]")
    _item(officer, 3).wait_for()
    officer.check("[data-testid=result-3-pass]")

    # Offline: a changed note is kept on the phone, and the server does not have it yet.
    officer.context.set_offline(True)
    officer.click("[data-testid=prev]")
    _item(officer, 2).locator("textarea[name^=note-]").fill("防盗门锁损坏，门框变形")
    officer.click("[data-testid=save]")
    _wait_sync_state(officer, "local")
    status = officer.text_content("[data-testid=sync-status]") or ""
    assert status.startswith(strings["local"]), status
    assert _answers(inspection)[2] == (Answer.Result.FAIL, "防盗门锁损坏")

    # Back online, the page syncs by itself.
    officer.context.set_offline(False)
    _wait_sync_state(officer, "ok")
    assert _answers(inspection) == {
        1: (Answer.Result.PASS, ""),
        2: (Answer.Result.FAIL, "防盗门锁损坏，门框变形"),
        3: (Answer.Result.PASS, ""),
    }
    assert AnswerPhoto.objects.filter(answer__inspection=inspection).count() == 1

    # --- 2. date, the unit's representative, a drawn signature, submit ---------------------------
    officer.click("[data-testid=next]")
    officer.click("[data-testid=next]")
    officer.locator("[data-testid=final]").wait_for()
    assert not scrolls_sideways(officer), "the date and signature step is wider than the phone"
    officer.fill("[data-testid=inspected-on]", timezone.localdate().isoformat())
    officer.fill("[data-testid=representative-name]", "李库管")
    canvas = officer.locator("[data-testid=signature-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    officer.mouse.move(x, y)
    officer.mouse.down()
    for step in range(1, 9):
        officer.mouse.move(x + step * 25, y + (15 if step % 2 else -15))
    officer.mouse.up()
    drawn = officer.input_value("input[name=signature_drawn]")
    assert drawn.startswith("data:image/png;base64,")

    officer.click("[data-testid=submit]")
    officer.wait_for_url(f"{base}/inspections/{inspection.pk}/")
    number = (officer.text_content("[data-testid=inspection-number]") or "").strip()
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.SUBMITTED
    assert number and number == inspection.number
    assert inspection.representative_name == "李库管"
    assert inspection.signature_image
    hazard = Hazard.objects.get(inspection=inspection)
    assert hazard.answer is not None and hazard.answer.position == 2
    assert "门框变形" in hazard.description
    assert hazard.attachments.filter(stage=HazardAttachment.Stage.FINDING).count() == 1
    _click_and_land(officer, "[data-testid=hazards] a")
    assert urlsplit(officer.url).path == f"/hazards/{hazard.pk}/"
    hazard_url = officer.url

    # --- 3. the unit's safety officer rectifies it ----------------------------------------------
    unit = phones.signed_in("unit-a-officer", "unit_a_officer")
    unit.goto(hazard_url)
    _click_and_land(unit, "[data-testid=step-start] button")  # a general hazard: one click
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.RECTIFYING
    unit.click("[data-testid=step-submit-rectification] summary")
    unit.fill("#id_submit-rectification-note", "已更换防盗门锁，门框已校正")
    unit.set_input_files("#id_submit-rectification-uploads", files=[png("green")])
    _click_and_land(unit, "[data-testid=step-submit-rectification] button[type=submit]")
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.AWAITING_ACCEPTANCE
    assert hazard.attachments.filter(stage=HazardAttachment.Stage.RECTIFICATION).count() == 1
    assert unit.locator("[data-testid=step-accept]").count() == 0, "the unit accepts its own work"
    assert not scrolls_sideways(unit), "the hazard page is wider than the phone"

    # --- 4. the county officer accepts and closes it ----------------------------------------------
    officer.goto(hazard_url)
    officer.click("[data-testid=step-accept] summary")
    officer.fill("#id_accept-opinion", "现场复查，整改到位")
    _click_and_land(officer, "[data-testid=step-accept] button[type=submit]")
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.CLOSED
    assert hazard.accepted_by == world.county_a
    assert "closed" in (officer.get_attribute("[data-testid=status]", "class") or "").split()
    timeline = officer.eval_on_selector_all(
        "[data-testid=timeline] > li", "items => items.map(i => i.className)"
    )
    assert timeline == ["created", "start", "submit_rectification", "accept"]
    record = officer.locator("[data-testid=acceptance-record]")
    assert record.is_visible()
    pdf = officer.context.request.get(f"{base}{record.get_attribute('href')}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"

    assert phones.js_errors == []
    assert phones.foreign == [], "requests left the server"
