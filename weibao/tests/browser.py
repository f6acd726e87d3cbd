"""What every browser test shares: Debian's Chromium launched through Playwright (never
`playwright install`: nothing may be downloaded at test time), a phone-sized context, signing in,
and where screenshots go. Import it before anything touches the ORM from a test."""

from __future__ import annotations

import os
from pathlib import Path

# Playwright's sync API runs an asyncio loop in this thread; Django would otherwise refuse the
# ORM calls the tests make ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

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
