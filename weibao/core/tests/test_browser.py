"""End to end in a real Chromium: every demo persona signs in, switches language, signs out.

Run with `pytest -m browser` (the default run deselects these). Uses Debian's chromium through
Playwright's sync API (never `playwright install`: nothing may be downloaded at test time), and
pytest-django's live server. Phone-sized screenshots land in artifacts/screenshots/ for review.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from weibao.accounts.demo import DEMO_PASSWORD, PERSONAS, load_demo
from weibao.tests.browser import (
    PHONE,
    SCREENSHOTS,
)

OTHER_LANGUAGE = {"zh-hans": "en", "en": "zh-hans"}

# Jurisdictions come from a data migration; a transactional test flushes them afterwards, so
# each test gets them back from the serialized copy.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@dataclass
class Traffic:
    """Everything the page asked for, and what went wrong on the way."""

    origin: str
    urls: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [u for u in self.urls if _origin(u) != self.origin and not u.startswith("data:")]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def page(browser: Browser, live_server: object) -> Iterator[tuple[Page, Traffic]]:
    # A Chinese phone by default: the first page must come out in Simplified Chinese.
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    traffic = Traffic(origin=_origin(str(live_server)))
    page.on("request", lambda r: traffic.urls.append(r.url))
    page.on(
        "response",
        lambda r: (
            traffic.failures.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 400
            else None
        ),
    )
    page.on("requestfailed", lambda r: traffic.failures.append(f"failed {r.url}: {r.failure}"))
    page.on("pageerror", lambda e: traffic.js_errors.append(str(e)))
    yield page, traffic
    context.close()


@pytest.fixture(scope="module", autouse=True)
def _fresh_screenshots() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def _html_lang(page: Page) -> str:
    return (page.get_attribute("html", "lang") or "").lower()


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("[data-testid=login-submit]")


@pytest.mark.parametrize("username", [p.username for p in PERSONAS])
def test_persona_signs_in_switches_language_and_signs_out(
    page: tuple[Page, Traffic], live_server: object, username: str
) -> None:
    load_demo()
    base = str(live_server)
    tab, traffic = page

    _sign_in(tab, base, username, DEMO_PASSWORD)
    title = tab.locator("[data-testid=home-title]")
    title.wait_for()
    assert urlsplit(tab.url).path == "/"
    first = _html_lang(tab)
    assert first == "zh-hans", f"a zh-CN browser should get Chinese first, got {first!r}"

    seen: dict[str, str] = {}
    language = first
    for _ in range(2):
        seen[language] = title.inner_text()
        tab.screenshot(path=str(SCREENSHOTS / f"{username}-{language}.png"), full_page=True)
        if len(seen) == 2:
            break
        target = OTHER_LANGUAGE[language]
        with tab.expect_navigation():
            tab.click(f"[data-testid=lang-{target}]")
        title.wait_for()
        assert _html_lang(tab) == target
        # The switch button now offers the language we left.
        assert tab.locator(f"[data-testid=lang-{language}]").is_visible()
        language = target

    assert seen["zh-hans"] != seen["en"], (
        f"the home title is the same in both languages ({seen['en']!r}): "
        "is the zh_Hans catalogue translated and compiled (`make messages`)?"
    )

    tab.click("details.menu > summary")
    logout = tab.locator("[data-testid=logout]")
    logout.wait_for(state="visible")
    tab.screenshot(path=str(SCREENSHOTS / f"{username}-{language}-menu.png"), full_page=True)
    with tab.expect_navigation():
        logout.click()
    tab.locator("#id_username").wait_for()
    assert urlsplit(tab.url).path == "/accounts/login/"
    assert tab.locator("details.menu").count() == 0, "still signed in after signing out"
    # Signed out for real: the home page sends us back to the login page.
    tab.goto(f"{base}/")
    assert urlsplit(tab.url).path == "/accounts/login/"

    assert traffic.foreign() == [], "requests left the server"
    assert traffic.failures == []
    assert traffic.js_errors == []


def test_wrong_password_is_refused_on_the_login_page(
    page: tuple[Page, Traffic], live_server: object
) -> None:
    load_demo()
    base = str(live_server)
    tab, traffic = page

    _sign_in(tab, base, "city", DEMO_PASSWORD + "-wrong")
    assert urlsplit(tab.url).path == "/accounts/login/"
    error = tab.locator("[role=alert]")
    error.wait_for()
    assert error.inner_text().strip()
    assert tab.locator("[data-testid=home-title]").count() == 0
    assert tab.input_value("#id_username") == "city"
    assert tab.input_value("#id_password") == ""
    tab.screenshot(path=str(SCREENSHOTS / "login-error-zh-hans.png"), full_page=True)

    assert traffic.foreign() == [], "requests left the server"
    assert traffic.failures == [], "no error status (the form answers 200 with the message)"
    assert traffic.js_errors == []
