"""End to end in a real Chromium on a phone-sized screen: a county officer takes a case under
investigation through the penalty procedure with the case page's forms (a fine above the
provision's maximum refused on the form, the notice, the party's written waiver with its scan,
the decision, the payment, execution, closing) and reads the timeline and the issued PDFs; the
unit's principal then sees its own case as the party.

Run with `pytest -m browser` (the default run deselects these). On failure every open page is
saved to artifacts/screenshots/case-flow-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, FilePayload, Page

from weibao.enforcement.models import Case, CaseDocument, CaseEvent, CaseStatus
from weibao.tests.browser import (
    SCREENSHOTS,
    Phones,
    scrolls_sideways,
)
from weibao.tests.factories import PASSWORD, World, case_at, provision

# Jurisdictions and the legal provisions come from data migrations; a transactional test
# flushes them afterwards, so each test gets them back from the serialized copy.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOT_PREFIX = "case-flow-"
Kind = CaseDocument.Kind


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    # The live server runs in this process: issued documents and uploads land in the test's
    # directory.
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(scope="module", autouse=True)
def _fresh_screenshots() -> None:
    # Once per module: a later test must not delete an earlier failure's screenshots.
    for old in SCREENSHOTS.glob(f"{SHOT_PREFIX}*.png"):
        old.unlink()


@pytest.fixture
def phones(browser: Browser, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Phones]:
    failed_before = request.session.testsfailed
    phones = Phones(browser=browser, base=str(live_server), password=PASSWORD)
    yield phones
    phones.close(request, failed_before, f"{SHOT_PREFIX}{request.node.name[5:25]}-")


def pdf_scan(name: str) -> FilePayload:
    """A signed paper's scan as the file chooser would hand it over."""
    return {"name": name, "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}


def _click_and_land(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _open_from_the_menu(page: Page, case: Case) -> None:
    """Home → menu → Cases → the case's row, as a person would get there."""
    page.click("details.menu > summary")
    _click_and_land(page, "details.menu nav a[href='/cases/']")
    assert urlsplit(page.url).path == "/cases/"
    _click_and_land(page, f"[data-testid=case-{case.pk}] a")
    assert urlsplit(page.url).path == f"/cases/{case.pk}/"


def _step(page: Page, name: str, fill: dict[str, str] | None = None) -> None:
    """Open a step's box on the case page, fill it in and send it; lands on the page again."""
    box = f"[data-testid=step-{name}]"
    page.click(f"{box} summary")
    for selector, value in (fill or {}).items():
        page.fill(selector, value)
    _click_and_land(page, f"{box} button[type=submit]")


def _status(case: Case) -> str:
    case.refresh_from_db()
    return str(case.status)


def _document_links(page: Page) -> list[str]:
    """The documents list's links, in order."""
    hrefs: list[str] = page.eval_on_selector_all(
        "[data-testid=documents] a", "as => as.map(a => a.getAttribute('href'))"
    )
    return hrefs


def _fetch(page: Page, url: str) -> tuple[int, str, bytes]:
    """A link fetched with the page's own session (the same cookies a tap would send)."""
    response = page.context.request.get(url)
    return response.status, response.headers.get("content-type", ""), response.body()


def test_officer_takes_a_case_from_investigation_to_closed_on_a_phone(
    phones: Phones, world: World
) -> None:
    case = case_at(world, "investigating")
    maximum = provision().fine_max
    assert maximum is not None and case.status == CaseStatus.INVESTIGATING
    events_before = case.events.count()
    documents_before = set(case.documents.values_list("kind", flat=True))
    assert documents_before == {Kind.REGISTRATION_APPROVAL}

    officer = phones.signed_in("county-a", "county_a")
    _open_from_the_menu(officer, case)
    assert "investigating" in (officer.get_attribute("[data-testid=status]", "class") or "")
    assert not scrolls_sideways(officer), "the case page is wider than the phone"

    # --- the notice: a fine above the provision's maximum is refused on the form --------------
    item = "[data-testid=step-notify] [data-testid=notify-item-0]"
    officer.click("[data-testid=step-notify] summary")
    # The one provision applied, allowing only fines: the first item comes filled in.
    assert officer.input_value("#id_notify-items-0-provision") == str(provision().pk)
    assert officer.input_value("#id_notify-items-0-kind") == "fine"
    officer.fill("#id_notify-items-0-amount", str(maximum + 10_000))
    assert not scrolls_sideways(officer), "the notice form is wider than the phone"
    _click_and_land(officer, "[data-testid=step-notify] button[type=submit]")
    # The page comes back with the step open and the error on the amount.
    assert urlsplit(officer.url).path == f"/cases/{case.pk}/notify/"
    assert officer.locator("[data-testid=step-notify]").get_attribute("open") is not None
    amount_error = officer.locator(f"{item} .field.has-error [role=alert]")
    assert amount_error.count() == 1 and amount_error.first.is_visible()
    assert f"{maximum:,.2f}" in amount_error.first.inner_text(), amount_error.first.inner_text()
    assert officer.input_value("#id_notify-items-0-amount") == str(maximum + 10_000)
    assert not scrolls_sideways(officer), "the form with its errors is wider than the phone"
    # Nothing written.
    assert _status(case) == CaseStatus.INVESTIGATING
    assert case.penalties.count() == 0
    assert case.events.count() == events_before
    assert set(case.documents.values_list("kind", flat=True)) == documents_before

    # Within the range, the notice is issued.
    officer.fill("#id_notify-items-0-amount", "30000")
    _click_and_land(officer, "[data-testid=step-notify] button[type=submit]")
    assert urlsplit(officer.url).path == f"/cases/{case.pk}/"
    assert _status(case) == CaseStatus.NOTIFIED
    fine = case.penalties.get()
    assert (fine.kind, fine.amount) == ("fine", Decimal(30000))
    assert officer.locator(f"[data-testid=penalty-{fine.pk}]").is_visible()
    # The decision waits for the defence period (nothing waived yet).
    assert officer.locator("[data-testid=step-decide]").count() == 0

    # --- the party's written waiver, with its scan ------------------------------------------------
    officer.click("[data-testid=step-defence] summary")
    officer.check("#id_defence-waived")
    officer.set_input_files("#id_defence-uploads", files=[pdf_scan("放弃陈述申辩书.pdf")])
    _click_and_land(officer, "[data-testid=step-defence] button[type=submit]")
    case.refresh_from_db()
    assert case.defence_waived and case.status == CaseStatus.NOTIFIED
    assert case.documents.filter(kind=Kind.DEFENCE_WAIVER).count() == 1

    # --- decide (the notified penalty as it was), pay, execute, close ---------------------------
    _step(officer, "decide")
    assert _status(case) == CaseStatus.DECIDED
    assert officer.locator("[data-testid=step-execute]").count() == 0, "executed before paid"
    assert officer.input_value("#id_pay-item") == str(fine.pk)  # the one unpaid fine
    officer.click("[data-testid=step-pay] summary")
    officer.fill("#id_pay-receipt_number", "FS-2025-0042")
    officer.set_input_files("#id_pay-uploads", files=[pdf_scan("缴款书.pdf")])
    _click_and_land(officer, "[data-testid=step-pay] button[type=submit]")
    fine.refresh_from_db()
    assert fine.paid_on is not None and fine.receipt_number == "FS-2025-0042"
    _step(officer, "execute")
    assert _status(case) == CaseStatus.EXECUTED
    _step(officer, "close", {"#id_close-note": "罚款已缴清，隐患已消除，结案。"})
    assert _status(case) == CaseStatus.CLOSED
    assert "closed" in (officer.get_attribute("[data-testid=status]", "class") or "").split()
    # Nothing left to do for the officer (the quality review is the city's, by someone else).
    assert officer.locator("[data-testid=steps]").count() == 0

    # --- the timeline: every step, in order, each with who and when ----------------------------
    timeline = officer.eval_on_selector_all(
        "[data-testid=timeline] > li", "items => items.map(i => i.className)"
    )
    assert timeline == [
        "register",
        "investigate",
        "notify",
        "defence",
        "decide",
        "pay",
        "execute",
        "close",
    ]
    assert timeline == list(case.events.values_list("action", flat=True))
    officer_name = str(world.county_a)
    for entry in officer.locator("[data-testid=timeline] > li").all():
        assert officer_name in entry.inner_text()
    assert "FS-2025-0042" in officer.inner_text("[data-testid=timeline] > li.pay")
    assert not scrolls_sideways(officer), "the closed case's page is wider than the phone"

    # --- the documents: the issued PDFs and the uploads, each one opens -------------------------
    kinds = set(case.documents.values_list("kind", flat=True))
    assert kinds == {
        Kind.REGISTRATION_APPROVAL,
        Kind.PENALTY_NOTICE,
        Kind.DEFENCE_WAIVER,
        Kind.PENALTY_DECISION,
        Kind.PAYMENT_RECEIPT,
        Kind.FILE_COVER,
    }
    hrefs = _document_links(officer)
    assert len(hrefs) == len(kinds) == case.documents.count()
    for document in case.documents.all():
        href = f"/cases/{case.pk}/documents/{document.pk}/"
        assert href in hrefs, f"{document.kind} is not on the list"
        assert document.generated == (document.kind in CaseDocument.GENERATED)
    # Each one opens as the PDF it is (issued, or the scans uploaded above).
    for href in hrefs:
        status, content_type, body = _fetch(officer, f"{phones.base}{href}")
        assert status == 200, href
        assert content_type == "application/pdf" and body.startswith(b"%PDF"), href

    assert phones.js_errors == []
    assert phones.foreign == [], "requests left the server"


def test_unit_principal_sees_the_notice_and_decision_but_not_the_internal_file(
    phones: Phones, world: World
) -> None:
    case = case_at(world, "decided")
    approval = case.documents.get(kind=Kind.REGISTRATION_APPROVAL)
    notice = case.documents.get(kind=Kind.PENALTY_NOTICE)
    decision = case.documents.get(kind=Kind.PENALTY_DECISION)

    principal = phones.signed_in("unit-a-principal", "unit_a_principal")
    _open_from_the_menu(principal, case)
    assert not scrolls_sideways(principal), "the party's case page is wider than the phone"

    hrefs = _document_links(principal)
    link = f"/cases/{case.pk}/documents/%d/"
    assert link % notice.pk in hrefs and link % decision.pk in hrefs
    assert link % approval.pk not in hrefs
    assert principal.locator(f"a[href='{link % approval.pk}']").count() == 0
    # Served on the party: it opens. The bureau's approval form does not, even by its address.
    status, content_type, body = _fetch(principal, phones.base + link % decision.pk)
    assert status == 200 and content_type == "application/pdf" and body.startswith(b"%PDF")
    status, _, _ = _fetch(principal, phones.base + link % approval.pk)
    assert status == 404

    # The party's timeline: what was served on it and what it did, no internal step.
    timeline = principal.eval_on_selector_all(
        "[data-testid=timeline] > li", "items => items.map(i => i.className)"
    )
    assert timeline == ["register", "notify", "defence", "decide"]
    assert set(timeline) <= CaseEvent.PARTY_ACTIONS
    # Nothing to do on the bureau's procedure, nothing to edit.
    assert principal.locator("[data-testid=steps]").count() == 0
    assert principal.locator("[data-testid=edit]").count() == 0

    assert phones.js_errors == []
    assert phones.foreign == [], "requests left the server"
