"""In a browser: signing in through a real OpenID Connect provider, and local two-factor.

The provider (oidc-provider-mock) runs on loopback beside the live server; the browser goes to
its authorization form and back, as a person's browser goes to their company's sign-in page.
"""

from __future__ import annotations

from base64 import b32decode
from collections.abc import Iterator

import pytest
from django.test import override_settings
from django_otp.oath import totp
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS, sign_in, snap
from tests.conftest import PASSWORD
from tests.sso_provider import Provider, provider_running


@pytest.fixture
def provider() -> Iterator[Provider]:
    with provider_running() as running:
        yield running


def _page(browser: Browser, live_server, allowed: list[str], **options) -> tuple:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, **options
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    outside: list[str] = []

    def _block(route):
        # The provider's own page may load what it likes; the console's pages load nothing
        # from outside.
        if not route.request.frame.url.startswith(tuple(allowed[1:])):
            outside.append(route.request.url)
        route.abort()

    page.route(lambda url: not any(url.startswith(a) for a in allowed), _block)
    return context, page, outside


@pytest.mark.django_db(transaction=True)
def test_a_korean_lead_signs_in_with_the_company_provider_and_gets_the_lead_role(
    browser: Browser, live_server, provider: Provider
):
    provider.person(
        "subject-lee", preferred_username="lee", given_name="Lee", groups=["dataflow-leads"]
    )
    context, page, outside = _page(
        browser, live_server, [live_server.url, provider.url], locale="ko-KR"
    )
    try:
        with provider.settings():
            page.goto("/history/")
            expect(page.get_by_test_id("sso-sign-in")).to_contain_text("Corp ID")
            snap(page, "sso-sign-in-page-ko")
            page.get_by_test_id("sso-sign-in").click()
            # The provider's own form: who signs in is typed there.
            page.get_by_placeholder("sub").fill("subject-lee")
            page.get_by_role("button", name="Authorize").click()
            page.wait_for_url(f"{live_server.url}/history/")
            expect(page.get_by_test_id("role")).to_have_text("팀 리더")
            expect(page.get_by_test_id("whoami")).to_contain_text("Lee")
            snap(page, "sso-signed-in-lead-ko")
    finally:
        context.close()
    assert not outside, outside


@pytest.mark.django_db(transaction=True)
def test_someone_in_no_mapped_group_reads_why_on_the_sign_in_page(
    browser: Browser, live_server, provider: Provider
):
    provider.person("subject-max", preferred_username="max", groups=["marketing"])
    context, page, outside = _page(browser, live_server, [live_server.url, provider.url])
    try:
        with provider.settings():
            page.goto("/accounts/login/")
            page.get_by_test_id("sso-sign-in").click()
            page.get_by_placeholder("sub").fill("subject-max")
            page.get_by_role("button", name="Authorize").click()
            page.wait_for_url(f"{live_server.url}/accounts/login/")
            expect(page.get_by_test_id("sso-refusal")).to_contain_text("none of the groups")
            expect(page.get_by_test_id("whoami")).to_have_count(0)
    finally:
        context.close()
    assert not outside, outside


@pytest.mark.django_db(transaction=True)
def test_a_local_admin_sets_up_an_authenticator_app_and_signs_in_with_codes(page: Page, admin_user):
    with override_settings(TWO_FACTOR_LOCAL=True):
        sign_in(page, "alice", PASSWORD)
        expect(page.get_by_test_id("two-factor-qr").locator("svg")).to_be_visible()
        expect(page.get_by_test_id("main-nav").get_by_role("link")).to_have_count(0)
        snap(page, "two-factor-setup")
        typed = page.get_by_test_id("two-factor-key").inner_text().replace(" ", "")
        key = b32decode(typed + "=" * (-len(typed) % 8))
        page.get_by_label("Code from your authenticator app").fill(f"{totp(key):06d}")
        page.get_by_test_id("two-factor-verify").click()
        expect(page.get_by_test_id("role")).to_have_text("Admins")
        page.get_by_test_id("logout").click()

        sign_in(page, "alice", PASSWORD)
        expect(page.get_by_test_id("two-factor-qr")).to_have_count(0)
        page.get_by_label("Code from your authenticator app").fill("12345x")
        page.get_by_test_id("two-factor-verify").click()
        expect(page.get_by_text("Enter the six digits the app shows.")).to_be_visible()
        page.get_by_label("Code from your authenticator app").fill(f"{totp(key, drift=1):06d}")
        page.get_by_test_id("two-factor-verify").click()
        expect(page.get_by_test_id("role")).to_have_text("Admins")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
