"""Browser fixtures: Debian's Chromium driven by Playwright, never a downloaded browser.

The browser comes from `LEADBOT_CHROMIUM` (default /usr/bin/chromium). Without
it the browser tests are skipped, unless `LEADBOT_REQUIRE_BROWSER=1` (CI sets
it), which turns the skip into a failure so a missing browser cannot hide.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

CHROMIUM_ENV = "LEADBOT_CHROMIUM"
REQUIRE_ENV = "LEADBOT_REQUIRE_BROWSER"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 5_000

expect.set_options(timeout=TIMEOUT_MS)


def chromium_path() -> str:
    """The Chromium to drive, or skip (fail under LEADBOT_REQUIRE_BROWSER=1) without one."""
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    reason = (
        f"no Chromium at {path}: install Debian's (apt-get install chromium) "
        f"or point {CHROMIUM_ENV} at one"
    )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    opened = await context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    try:
        yield opened
    finally:
        await context.close()
