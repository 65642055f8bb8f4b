"""The navigation fits every window from a phone to a wide screen, in both languages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, expect

from tests.browser.conftest import snap
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 1024, 1280, 1366, 1920)


@pytest.mark.parametrize("language", ["en-US", "ko-KR"])
def test_no_page_is_wider_than_its_window_for_the_person_with_the_most_links(
    browser: Browser, live_server, language
):
    get_user_model().objects.create_superuser("root", password=PASSWORD, first_name="Root")
    context = browser.new_context(base_url=live_server.url, locale=language)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.locator("#id_username").fill("root")
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_test_id("sign-in").click()
        page.get_by_test_id("whoami").wait_for()
        too_wide = {}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            for path in ("/", "/history/", "/fleet/"):
                page.goto(path)
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > width:
                    too_wide[(width, path)] = wide
        assert too_wide == {}
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto("/")
        page.get_by_test_id("nav-more").click()
        page.get_by_test_id("nav-me").wait_for(state="visible")
        snap(page, f"navigation-1280-{language}")
        # Narrow windows fold the navigation behind its button; every link is one tap away.
        page.set_viewport_size({"width": 360, "height": 800})
        page.goto("/")
        page.locator(".navbar-toggler").click()
        page.get_by_test_id("nav-history").click()
        page.wait_for_url(f"{live_server.url}/history/")
        page.locator(".navbar-toggler").click()
        logout = page.get_by_test_id("logout")
        logout.wait_for(state="visible")
        snap(page, f"navigation-360-{language}")
    finally:
        context.close()


def test_the_first_tab_reaches_a_skip_link_to_the_content(page, admin_user):
    from tests.browser.conftest import sign_in

    sign_in(page, admin_user.username, PASSWORD)
    page.goto("/history/")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    skip = page.get_by_test_id("skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


def test_the_recent_changes_stay_inside_their_card_on_a_laptop(page, scp, imported, admin_user):
    from console.dataflow.changes.submit import change_cancel
    from tests.browser.conftest import sign_in
    from tests.dataflow.helpers import raise_memory, submit_edit

    service = imported["sales-etl"]
    # A reason without spaces (a pasted link or ticket path) cannot wrap between words.
    reason = "https://tickets.example.com/browse/DATAFLOW-" + "4" * 80
    change = submit_edit(service, admin_user, raise_memory, reason=reason)
    change_cancel(change=change, by=admin_user)
    sign_in(page, admin_user.username, PASSWORD)
    for width in (1024, 1280, 1366):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"/services/{service.pk}/")
        table = page.get_by_test_id("recent-changes")
        card = table.locator("xpath=ancestor::div[contains(@class,'card')][1]")
        inside = table.bounding_box()["x"] + table.bounding_box()["width"]
        edge = card.bounding_box()["x"] + card.bounding_box()["width"]
        assert inside <= edge + 1, (width, inside, edge)
        if width == 1024:
            snap(page, "service-recent-changes-1024")


@pytest.mark.parametrize("language", ["en-US", "ko-KR"])
def test_a_team_leads_bar_fits_a_laptop(browser: Browser, live_server, lead_user, language):
    """A lead has every main link and the longest role name: the bar still fits 1,200-1,399 px."""
    lead_user.first_name = "Leonardo"
    lead_user.save()
    context = browser.new_context(base_url=live_server.url, locale=language)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(lead_user.username)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_test_id("sign-in").click()
        page.get_by_test_id("whoami").wait_for()
        for width in (1200, 1280, 1366):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto("/history/")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, width
    finally:
        context.close()
