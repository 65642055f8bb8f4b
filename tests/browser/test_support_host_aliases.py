"""Support staff fix a host alias in the browser, and can reach nothing else."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_support_pastes_a_host_alias_previews_it_and_sees_it_succeed(
    page: Page, celery_worker, scp, imported, support_user
):
    service = imported["sales-etl"]
    sign_in(page, support_user.username, PASSWORD)
    page.get_by_role("link", name="sales-etl").click()
    expect(page.get_by_test_id("edit-service")).to_have_count(0)
    page.get_by_test_id("edit-host-aliases").click()

    hosts = page.get_by_label("Host aliases (hosts-file lines)")
    hosts.fill(hosts.input_value() + "10.30.0.9 ldap.corp.internal\n")
    page.get_by_label("Ticket").fill("SUP-1234")
    page.locator("#id_reason").fill("LDAP moved to a new subnet")
    snap(page, "support-1-host-aliases")
    page.get_by_test_id("preview").click()

    expect(page.get_by_test_id("diff-row")).to_have_count(1)
    expect(page.get_by_test_id("hosts-preview")).to_contain_text("10.30.0.9\tldap.corp.internal")
    expect(page.get_by_label("Reason for this change")).to_have_value("LDAP moved to a new subnet")
    snap(page, "support-2-review")
    page.get_by_test_id("confirm").click()

    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    [put] = puts(scp, service)
    assert {"hostname": "ldap.corp.internal", "ip": "10.30.0.9"} in put["body"]["host_alias"][
        "host_alias_list"
    ]
    assert put["body"]["service_workload"]["nifi"]["memory"] == str(
        service.config["workloads"]["nifi"]["memory"]
    )
    page.goto(f"/services/{service.pk}/edit/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
