"""Production smoke: a browser against gunicorn with DEBUG off behind a TLS proxy.

Runs only when selected (`pytest -m production tests/production`), as .ci/run does after it
has started the production processes; it reads where they are from the environment:
CONSOLE_SMOKE_URL, CONSOLE_SMOKE_USER, CONSOLE_SMOKE_PASSWORD.
"""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

pytestmark = pytest.mark.production

# What the TLS-terminating proxy adds to every request it forwards.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def _setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: the production smoke runs from .ci/run.")
    return value


@pytest.fixture(scope="module")
def base_url() -> str:
    return _setting("CONSOLE_SMOKE_URL").rstrip("/")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, base_url: str, request) -> Iterator[Page]:
    """A page whose every request carries the proxy's header; CSP violations are collected."""
    context = browser.new_context(base_url=base_url, extra_http_headers=PROXY_HEADERS)
    context.set_default_timeout(20_000)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"production-{request.node.name}.png"), full_page=True)
    context.close()
    assert not violations, f"the pages broke their Content-Security-Policy: {violations}"


def test_healthz_answers_200(base_url):
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
        assert response.status == 200
        assert response.read() == b'{"database": "ok", "broker": "ok"}'


def test_the_sign_in_page_carries_csp_and_hsts(page: Page):
    response = page.goto("/accounts/login/")
    assert response is not None and response.status == 200
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["strict-transport-security"].startswith("max-age=")
    expect(page.get_by_test_id("sign-in")).to_be_visible()


def test_an_admin_signs_in_and_a_change_reaches_succeeded(page: Page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(_setting("CONSOLE_SMOKE_USER"))
    page.get_by_label("Password").fill(_setting("CONSOLE_SMOKE_PASSWORD"))
    page.get_by_test_id("sign-in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    first = page.locator("table a[href*='/services/']").first
    expect(first).to_be_visible()
    first.click()
    page.get_by_test_id("edit-service").click()

    description = f"production smoke {int(time.time())}"
    page.get_by_label("Description").fill(description)
    page.get_by_test_id("review").click()
    expect(page.get_by_test_id("diff-row")).to_have_count(1)
    page.get_by_label("Reason for this change").fill("Production smoke test")
    page.get_by_test_id("confirm").click()

    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=60_000)


def test_a_korean_browser_reads_the_console_in_korean(browser: Browser, base_url: str):
    """The compiled catalogues ship with the code: no gettext on the machine, Korean anyway."""
    context = browser.new_context(
        base_url=base_url, extra_http_headers=PROXY_HEADERS, locale="ko-KR"
    )
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("사용자 이름").fill(_setting("CONSOLE_SMOKE_USER"))
        page.get_by_label("비밀번호").fill(_setting("CONSOLE_SMOKE_PASSWORD"))
        page.get_by_test_id("sign-in").click()
        expect(page).to_have_url(re.compile(r"/$"))
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        # The console's own words (its catalogue), not only Django's.
        expect(page.get_by_role("navigation")).to_contain_text("변경 이력")
        page.screenshot(path=str(SCREENSHOTS / "production-korean.png"), full_page=True)
    finally:
        context.close()
