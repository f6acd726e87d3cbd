"""What every browser test shares: Debian's Chromium launched through Playwright (never
`playwright install`: nothing may be downloaded at test time), a phone-sized context, signing in,
one phone per person (`Phones`) and where screenshots go. Import it before anything touches the
ORM from a test. The `playwright` and `browser` fixtures are in weibao/conftest.py."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Playwright's sync API runs an asyncio loop in this thread; Django would otherwise refuse the
# ORM calls the tests make ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 360, "height": 740}
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "artifacts/screenshots")
)


def phone_context(browser: Browser, timeout_ms: int = 10_000) -> BrowserContext:
    """A Chinese phone: small screen, touch, zh-CN first."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    context.set_default_timeout(timeout_ms)
    return context


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("[data-testid=login-submit]")


def scrolls_sideways(page: Page) -> bool:
    """Whether the page is wider than the screen (a phone user would have to pan)."""
    return bool(page.evaluate("document.scrollingElement.scrollWidth > window.innerWidth"))


@dataclass
class Phones:
    """One phone (browser context) per person; what their pages did wrong on the way."""

    browser: Browser
    base: str
    password: str
    pages: dict[str, Page] = field(default_factory=dict)
    js_errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def signed_in(self, name: str, username: str) -> Page:
        page = phone_context(self.browser).new_page()
        page.on("pageerror", lambda e: self.js_errors.append(f"{name}: {e}"))
        page.on(
            "request",
            lambda r: (
                self.foreign.append(r.url)
                if not r.url.startswith((self.base, "data:", "blob:"))
                else None
            ),
        )
        self.pages[name] = page
        sign_in(page, self.base, username, self.password)
        page.locator("[data-testid=home-title]").wait_for()
        return page

    def close(self, request: Any, failed_before: int, prefix: str) -> None:
        """Screenshots of every open page when the test failed, then close the phones."""
        # The call phase has been reported by now: a failure already counts.
        if request.session.testsfailed > failed_before:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for name, page in self.pages.items():
                page.screenshot(path=str(SCREENSHOTS / f"{prefix}{name}.png"), full_page=True)
        for page in self.pages.values():
            page.context.close()
