"""Each demo role signs in, sees its name and only its navigation, and signs out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.demo import DEMO_USERS, demo_users_create
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAVIGATION = {
    "admin": (
        "Admins",
        {
            "Services",
            "Change history",
            "Fleet changes",
            "Approvals",
            "SCP connections",
            "My watches",
            "Preferences",
        },
    ),
    "lead": (
        "Team leads",
        {"Services", "Change history", "Fleet changes", "Approvals", "My watches", "Preferences"},
    ),
    "support": (
        "Support",
        {"Services", "Change history", "Fleet changes", "My watches", "Preferences"},
    ),
}


@pytest.mark.parametrize("username", ["admin", "lead", "support"])
def test_demo_user_signs_in_sees_own_navigation_and_signs_out(page: Page, username):
    passwords = demo_users_create()
    role, nav = NAVIGATION[username]

    sign_in(page, username, passwords[username])

    expect(page.get_by_test_id("whoami")).to_contain_text(DEMO_USERS[username][1])
    expect(page.get_by_test_id("role")).to_have_text(role)
    # textContent: the less-used pages sit in the closed "More" menu.
    links = page.get_by_test_id("main-nav").locator("a").all_text_contents()
    assert {text.strip() for text in links} == nav
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_shows_an_error(page: Page):
    demo_users_create()
    sign_in(page, "admin", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_test_id("whoami")).to_have_count(0)


def test_theme_switch_turns_the_page_dark_and_remembers_it(page: Page):
    passwords = demo_users_create()
    sign_in(page, "lead", passwords["lead"])
    page.emulate_media(color_scheme="light")
    html = page.locator("html")
    before = html.get_attribute("data-bs-theme")
    page.get_by_test_id("theme-toggle").click()
    after = html.get_attribute("data-bs-theme")
    assert {before, after} == {"light", "dark"}
    page.reload()
    expect(html).to_have_attribute("data-bs-theme", after)
