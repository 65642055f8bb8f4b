"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Keep Chromium off the network: the console must work where nothing outside is reachable.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server, request) -> Iterator[Page]:
    """A fresh browser context per test; a screenshot of the last page lands in var/screenshots."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    external: list[str] = []

    def _block_outside(route):
        external.append(route.request.url)
        route.abort()

    # Anything not served by the live server would be a CDN or other outside call: refuse it.
    page.route(lambda url: not url.startswith(live_server.url), _block_outside)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
    assert not external, f"the page tried to load from outside: {external}"


def sign_in(page: Page, username: str, password: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("sign-in").click()


def snap(page: Page, name: str) -> None:
    """Keep a full-page screenshot in var/screenshots, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def more_menu_click(page: Page, test_id: str) -> None:
    """Open the navigation's "More" menu and click one of its links, as a person would.

    Bootstrap's menu works once the page's scripts have run: after a navigation the page is
    given its load first, and a click that came too early is made again.
    """
    page.wait_for_load_state("load")
    item = page.get_by_test_id(test_id).first
    for _attempt in range(3):
        if not item.is_visible():
            page.get_by_test_id("nav-more").click()
        try:
            item.wait_for(state="visible", timeout=3_000)
            break
        except PlaywrightTimeoutError:
            continue
    item.click()
