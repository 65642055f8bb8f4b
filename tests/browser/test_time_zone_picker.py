"""The time-zone picker: the browser's zone first, the common ones next, no machine entries."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, expect

from console.dataflow.models import Preference
from tests.browser.conftest import snap
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("language", "note"), [("en-US", "this browser"), ("ko-KR", "이 브라우저")]
)
def test_a_person_in_new_york_finds_their_zone_first_and_saves_it(
    browser: Browser, live_server, language, note
):
    get_user_model().objects.create_user("mina", password=PASSWORD)
    context = browser.new_context(
        base_url=live_server.url, locale=language, timezone_id="America/New_York"
    )
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.locator("#id_username").fill("mina")
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_test_id("sign-in").click()
        page.get_by_test_id("whoami").wait_for()
        page.goto("/preferences/")
        picker = page.locator("#id_time_zone")
        common = picker.locator("optgroup").first
        first = common.locator("option").first
        expect(first).to_have_attribute("value", "America/New_York")
        expect(first).to_contain_text(note)
        assert common.locator("option").nth(1).get_attribute("value") == "Asia/Seoul"
        offered = picker.locator("option").evaluate_all("options => options.map(o => o.value)")
        assert "Europe/Berlin" in offered
        assert not {"Factory", "localtime", "posixrules", "ROK", "Etc/GMT+9"} & set(offered)
        assert len(offered) == len(set(offered))  # the browser's zone moved, not copied
        snap(page, f"time-zone-picker-{language}")
        picker.select_option("America/New_York")
        page.get_by_test_id("save-preferences").click()
        expect(page.get_by_test_id("time-zone")).to_contain_text("America/New_York")
        assert Preference.objects.get(user__username="mina").time_zone == "America/New_York"
    finally:
        context.close()
