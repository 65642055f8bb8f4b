"""An admin edits a service in the browser and follows the change until SCP runs it again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_admin_raises_memory_adds_a_host_alias_and_watches_it_succeed(
    page: Page, celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    before = service.config
    old_memory = before["workloads"]["nifi"]["memory"]
    new_memory = old_memory * 2

    sign_in(page, admin_user.username, PASSWORD)
    snap(page, "flow-0-services")
    page.get_by_role("link", name="sales-etl").click()
    expect(page.get_by_test_id("service-state")).to_have_text("RUNNING")
    page.get_by_test_id("edit-service").click()

    page.get_by_label("NiFi memory (MiB)").fill(str(new_memory))
    expect(page.locator("[data-unit-display=nifi_memory]")).to_have_text(
        f"= {new_memory / 1024:g} GiB"
    )
    rows_before = page.locator("[data-alias-row]:visible").count()
    page.get_by_test_id("add-alias").click()
    expect(page.locator("[data-alias-row]:visible")).to_have_count(rows_before + 1)
    page.locator("[data-alias-row]:visible").last.get_by_label("Host name").fill(
        "metrics.internal.example"
    )
    page.locator("[data-alias-row]:visible").last.get_by_label("IP address").fill("10.20.0.40")
    snap(page, "flow-1-edit")
    page.get_by_test_id("review").click()

    # The review page shows exactly the two edits and nothing else.
    rows = page.get_by_test_id("diff-row")
    expect(rows).to_have_count(2)
    memory_row = page.locator("[data-field='workloads.nifi.memory']")
    expect(memory_row).to_contain_text(f"{old_memory} MiB")
    expect(memory_row).to_contain_text(f"{new_memory} MiB")
    alias_row = page.locator("[data-field='host_aliases.metrics.internal.example']")
    expect(alias_row).to_have_attribute("data-kind", "added")
    expect(alias_row).to_contain_text("10.20.0.40")
    expect(page.get_by_test_id("precheck")).to_contain_text("gave no verdict")
    page.get_by_label("Reason for this change").fill("More heap for the nightly load; TICKET-42")
    snap(page, "flow-2-review")
    page.get_by_test_id("confirm").click()

    # The change page follows the change without a reload until it is final.
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    url_before = page.url
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    assert page.url == url_before
    expect(page.get_by_test_id("change-live")).not_to_have_attribute("hx-trigger", re.compile("."))
    # A screen reader heard the status change, politely, from a region that stays in place.
    announcer = page.get_by_test_id("live-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text("Succeeded")
    expect(page.get_by_test_id("reason")).to_contain_text("TICKET-42")
    timeline = page.get_by_test_id("timeline")
    for status in ("Queued", "Submitting", "Accepted", "Succeeded"):
        expect(timeline).to_contain_text(status)

    nifi_link = page.get_by_test_id("change-link-nifi")
    expect(nifi_link).to_have_attribute("href", service.web_url_nifi)
    expect(nifi_link).to_have_attribute("target", "_blank")
    # NiFi itself is out of reach here: a stand-in answers for it in the new tab.
    page.context.route(
        f"{service.web_url_nifi}**",
        lambda route: route.fulfill(body="<h1>NiFi</h1>", content_type="text/html"),
    )
    with page.context.expect_page() as new_tab:
        nifi_link.click()
    new_tab.value.wait_for_load_state()
    assert new_tab.value.url == service.web_url_nifi
    new_tab.value.close()

    # Exactly one PUT, correctly signed, carrying the complete configuration with the two edits.
    [put] = puts(scp, service)
    assert put["verdict"] == "ok"
    body = put["body"]
    assert body["service_workload"]["nifi"]["memory"] == str(new_memory)
    for component in ("nifi_registry", "zookeeper"):
        assert body["service_workload"][component] == {
            key: str(value) for key, value in before["workloads"][component].items()
        }
    for key in ("cpu", "replica", "version"):
        assert body["service_workload"]["nifi"][key] == str(before["workloads"]["nifi"][key])
    assert body["host_alias"]["host_alias_list"] == [
        *before["host_aliases"],
        {
            "hostname": "metrics.internal.example",
            "ip": "10.20.0.40",
        },
    ]
    assert body["host_alias"]["enabled"] == ("true" if before["host_alias_enabled"] else "false")
    assert body["domain"] == before["domain"]
    assert body["node_selector"] == before["node_selector"]
    assert body["description"] == before["description"]
    assert body["account"] == {"account_id": before["account_id"]}
    page.goto(page.url)  # the final page, for the screenshot
