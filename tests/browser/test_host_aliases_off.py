"""Support adds a host alias to a service whose host aliases are switched off, in the browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.connections.clients import scp_client_for
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import Service
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_support_adds_a_line_where_host_aliases_are_off_and_it_reaches_the_pods(
    page: Page, celery_worker, scp, imported, support_user
):
    # As SCP creates a service: host aliases switched off, none listed.
    scp.add_service(data_flow_service_name="quiet-etl")
    assert not services_sync().errors
    service = Service.objects.get(name="quiet-etl")
    assert service.config["host_alias_enabled"] is False

    sign_in(page, support_user.username, PASSWORD)
    page.get_by_role("link", name="quiet-etl").click()
    page.get_by_test_id("edit-host-aliases").click()
    keep_off = page.get_by_label("Keep host aliases switched off")
    expect(keep_off).not_to_be_checked()
    page.get_by_label("Host aliases (hosts-file lines)").fill("10.30.0.5 ntp.corp.example\n")
    page.get_by_label("Ticket").fill("SUP-2001")
    page.locator("#id_reason").fill("NTP for the flows")
    snap(page, "aliases-off-1-support-page")
    page.get_by_test_id("preview").click()

    switch = page.locator('[data-testid="diff-row"][data-field="host_alias_enabled"]')
    expect(switch).to_contain_text("Host aliases")
    expect(switch).to_contain_text(re.compile(r"off\s*→\s*on"))
    expect(page.get_by_test_id("aliases-switched-on")).to_be_visible()
    expect(page.get_by_test_id("aliases-off-warning")).to_have_count(0)
    expect(page.get_by_test_id("hosts-preview")).to_contain_text("10.30.0.5\tntp.corp.example")
    snap(page, "aliases-off-2-review")
    page.get_by_test_id("confirm").click()

    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    [put] = puts(scp, service)
    assert put["body"]["host_alias"] == {
        "enabled": "true",
        "host_alias_list": [{"hostname": "ntp.corp.example", "ip": "10.30.0.5"}],
    }
    page.get_by_test_id("body-sent").locator("summary").click()
    expect(page.get_by_test_id("body-sent-json")).to_contain_text('"enabled": "true"')
    snap(page, "aliases-off-3-change")

    page.get_by_role("link", name="quiet-etl").first.click()
    expect(page.get_by_test_id("host-aliases")).to_contain_text("ntp.corp.example")
    effect = page.get_by_test_id("host-aliases-effect")
    expect(effect).to_have_attribute("data-effect", "on")
    expect(effect).to_contain_text("In effect")
    snap(page, "aliases-off-4-service")
    # What SCP reports the pods have.
    detail = scp_client_for("default").get_service(service.scp_id)
    assert "10.30.0.5\tntp.corp.example" in detail.hosts_file
