"""Browser fixtures: one Chromium (Debian's /usr/bin/chromium) for all these tests, a fresh page per test.

Every page records console errors and uncaught exceptions; a test that leaves any fails at teardown
(a test expecting some takes them out of ``page_errors``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support import Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
DEFAULT_MODEL = "sim"  # the session server's default; tests that pick another model put it back
TIMEOUT_MS = 30_000  # generous: a loaded CI machine can be slow; a passing test never waits for it

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for all browser tests. Package scope, not session: while Playwright's sync API is open
    it leaves an event loop marked running in this thread, so it must close before any async test runs."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, server: Server, page_errors: list[str]) -> Iterator[Page]:
    """A page in its own context (own localStorage), at desktop size, with the server as base URL."""
    context = browser.new_context(viewport=DESKTOP, base_url=server.base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda message: page_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page_errors.append(f"uncaught: {error}"))
    yield page
    context.close()
    httpx.post(f"{server.base_url}/api/v1/models/load", json={"model_id": DEFAULT_MODEL}, timeout=30)
    assert page_errors == [], "the page logged errors"
