"""In Chromium: switch to Korean, watch a service, find it on My watches after a new sign-in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.demo import demo_users_create
from console.dataflow.models import Service
from tests.browser.conftest import more_menu_click, sign_in, snap
from tests.notify_servers import catalogue_compile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_korean_is_chosen_once_and_kept_and_a_watched_service_is_listed(page: Page):
    catalogue_compile()
    passwords = demo_users_create()
    service = Service.objects.create(name="sales-etl", scp_id="svc-0001", state="RUNNING")

    sign_in(page, "support", passwords["support"])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_test_id("language-ko").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_test_id("nav-me")).to_have_text(re.compile("내 구독"))

    page.goto(service.get_absolute_url())
    page.get_by_test_id("watch-toggle").click()
    expect(page.get_by_test_id("watch-toggle")).to_have_text(re.compile("구독 중"))

    page.get_by_test_id("logout").click()
    page.context.clear_cookies()  # as if on another browser: only the saved choice remains
    sign_in(page, "support", passwords["support"])
    more_menu_click(page, "nav-me")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_test_id("watch-row")).to_have_count(1)
    expect(page.get_by_test_id("watch-row")).to_contain_text("sales-etl")
    snap(page, "my-watches-ko")
