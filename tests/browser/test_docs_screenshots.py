"""The README's pictures: the service list, a change, the history and a fleet change at
1,280 px in English and Korean, made from a real run (a worker took the change to Succeeded).

They land in var/screenshots/docs-*.png; docs/ keeps the copies the README shows.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from console.dataflow.models import FleetChange
from tests.browser.conftest import sign_in, snap
from tests.browser.test_fleet_and_approval import _fleet_form, _kafka_clients
from tests.conftest import PASSWORD
from tests.dataflow.helpers import raise_memory, submit_edit, wait_until_final

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WINDOW = {"width": 1280, "height": 900}
SUCCEEDED = {"en-US": "Succeeded", "ko-KR": "성공"}


def test_the_readme_pictures_show_a_real_run_in_both_languages(
    browser: Browser, live_server, celery_worker, scp, imported, admin_user
):
    change = wait_until_final(
        submit_edit(imported["sales-etl"], admin_user, raise_memory, reason="Heap for month end")
    )
    assert change.status == "succeeded"
    _kafka_clients(scp)
    runner = browser.new_context(base_url=live_server.url, viewport=WINDOW).new_page()
    sign_in(runner, admin_user.username, PASSWORD)
    _fleet_form(runner)
    runner.get_by_label("Ticket").fill("NET-4711")
    runner.get_by_label("Reason for this fleet change").fill("Kafka broker 1 moved to a new host")
    runner.get_by_test_id("fleet-confirm").click()
    expect(runner.get_by_test_id("fleet-status")).to_have_text("Succeeded", timeout=60_000)
    runner.context.close()
    fleet = FleetChange.objects.get()
    pages = {
        "services": "/",
        "change": f"/changes/{change.pk}/",
        "history": "/history/",
        "fleet": f"/fleet/{fleet.pk}/",
    }
    for language in ("en-US", "ko-KR"):
        context = browser.new_context(base_url=live_server.url, locale=language, viewport=WINDOW)
        page = context.new_page()
        try:
            page.goto("/accounts/login/")
            page.locator("#id_username").fill(admin_user.username)
            page.locator("#id_password").fill(PASSWORD)
            page.get_by_test_id("sign-in").click()
            page.get_by_test_id("whoami").wait_for()
            for name, path in pages.items():
                page.goto(path)
                page.wait_for_load_state("load")
                if name == "change":
                    expect(page.get_by_test_id("change-status")).to_have_text(SUCCEEDED[language])
                assert page.evaluate("document.documentElement.scrollWidth") <= WINDOW["width"]
                snap(page, f"docs-{name}-{language[:2]}")
        finally:
            context.close()
