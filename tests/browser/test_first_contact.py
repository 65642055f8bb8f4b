"""First contact with SCP as its documentation shows it: an admin in the browser, the simulator
in its documented mode (no-verdict pre-check, services made by other tools, old state after 202)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import Service
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _raise_nifi_memory(page: Page, service: Service, *, to: int, snapshot: str) -> None:
    """Open the service, raise NiFi memory, review (the pre-check gives no verdict), confirm."""
    page.goto(f"/services/{service.pk}/")
    page.get_by_test_id("edit-service").click()
    page.get_by_label("NiFi memory (MiB)").fill(str(to))
    page.get_by_test_id("review").click()
    rows = page.get_by_test_id("diff-row")
    expect(rows).to_have_count(1)
    precheck = page.get_by_test_id("precheck")
    expect(precheck).to_contain_text("gave no verdict")
    expect(page.get_by_test_id("confirm")).to_be_enabled()
    page.get_by_label("Reason for this change").fill("More heap")
    snap(page, f"{snapshot}-review")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))


def test_a_service_made_by_other_tools_keeps_its_dotted_domain_and_bare_node_label(
    page: Page, celery_worker, scp, imported, admin_user
):
    scp.add_service(
        data_flow_service_name="legacy-cdc",
        domain="cdc.legacy",
        node_selector="dataflow",
    )
    assert not services_sync().errors
    service = Service.objects.get(name="legacy-cdc")
    memory = service.config["workloads"]["nifi"]["memory"] * 2

    sign_in(page, admin_user.username, PASSWORD)
    _raise_nifi_memory(page, service, to=memory, snapshot="legacy")

    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    [put] = puts(scp, service)
    assert put["body"]["domain"] == "cdc.legacy"
    assert put["body"]["node_selector"] == "dataflow"
    assert put["body"]["service_workload"]["nifi"]["memory"] == str(memory)


def test_an_admin_repairs_the_service_in_error(
    page: Page, celery_worker, scp, imported, admin_user
):
    service = imported["finance-batch"]
    assert service.state == "ERROR"
    memory = service.config["workloads"]["nifi"]["memory"] * 2

    sign_in(page, admin_user.username, PASSWORD)
    page.goto(f"/services/{service.pk}/edit/")
    expect(page.get_by_test_id("state-notice")).to_contain_text("repair")
    _raise_nifi_memory(page, service, to=memory, snapshot="repair")

    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    snap(page, "repair-succeeded")
    assert len(puts(scp, service)) == 1
    service.refresh_from_db()
    assert service.state == "RUNNING"


def test_a_change_ends_succeeded_when_scp_shows_the_old_state_for_3_s_after_its_202(
    page: Page, celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    scp.fault(service.scp_id, start_delay=3)
    memory = service.config["workloads"]["nifi"]["memory"] * 2

    sign_in(page, admin_user.username, PASSWORD)
    _raise_nifi_memory(page, service, to=memory, snapshot="start-delay")

    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    expect(page.get_by_test_id("timeline")).to_contain_text("waiting for the update to start")
    assert len(puts(scp, service)) == 1
