"""An admin learns from the connections page and the banner how long SCP still supports the
configured API version: the simulator lists it DEPRECATED, 58 days before its last day."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import more_menu_click, sign_in, snap
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sees_the_last_supported_day_and_the_days_left_after_check_now(
    page: Page, scp, admin_user, settings
):
    settings.SCP_API_VERSION = "data-flow 1.0"
    last_day = (timezone.localdate() + timedelta(days=58)).isoformat()
    scp.set_versions(
        [
            {"id": "v1.0", "status": "DEPRECATED", "not_before": last_day},
            {"id": "v1.1", "status": "CURRENT"},
        ]
    )
    sentence = (
        "The SCP connection default uses data-flow 1.0, which SCP lists as DEPRECATED with "
        f"{last_day} as its last supported day (58 days left); switch to data-flow 1.1."
    )

    sign_in(page, admin_user.username, PASSWORD)
    more_menu_click(page, "nav-connections")
    expect(page.get_by_test_id("scp-version-banner")).to_have_count(0)
    page.get_by_test_id("check-now").click()

    row = page.get_by_test_id("connection-row").filter(has_text="default")
    expect(row.get_by_test_id("verdict")).to_have_text("OK")
    expect(row.get_by_test_id("version-status")).to_have_text("DEPRECATED")
    expect(row.get_by_test_id("version-last-day")).to_have_text(
        f"last supported day {last_day}, 58 days left"
    )
    expect(row.get_by_test_id("message")).to_contain_text(
        f"data-flow 1.0 DEPRECATED, last supported day {last_day}, 58 days left "
        "(current: data-flow 1.1)"
    )
    banner = page.get_by_test_id("scp-version-banner")
    expect(banner).to_contain_text(sentence)
    expect(banner).to_have_class(re.compile(r"\balert-warning\b"))
    snap(page, "version-support-connections")

    page.get_by_test_id("nav-services").first.click()
    expect(page.get_by_test_id("scp-version-banner")).to_contain_text(sentence)
    root = next(entry for entry in scp.requests() if entry["path"] == "/")
    assert root["verdict"] == "version list (unsigned)"
    assert "Scp-Signature" not in root["headers"]
