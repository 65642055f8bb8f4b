"""SCP's own console as a team lead meets it: a change made there after the console's is outside
the console, and an approval never silently replaces a newer value that SCP holds."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ChangeRequest, Service
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Kind = ChangeRequest.Kind


@pytest.fixture
def orders(scp) -> Service:
    """A service whose NiFi has 1024 MiB, imported from the simulator."""
    scp.add_service(
        data_flow_service_name="orders-flow", service_workload={"nifi": {"memory": "1024"}}
    )
    assert not services_sync().errors
    return Service.objects.get(name="orders-flow")


def _switch(page: Page, user) -> None:
    page.context.clear_cookies()
    sign_in(page, user.username, PASSWORD)


def _set_memory(page: Page, service: Service, mib: int, reason: str) -> None:
    """An admin sets NiFi memory through the edit form, review and confirm."""
    page.goto(service.get_absolute_url())
    page.get_by_test_id("edit-service").click()
    page.get_by_label("NiFi memory (MiB)").fill(str(mib))
    page.get_by_test_id("review").click()
    page.get_by_label("Reason for this change").fill(reason)
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))


def _in_scp_console(scp, service: Service, mib: int) -> None:
    """Someone sets NiFi memory in SCP's own console."""
    scp.change_in_scp_console(
        service.scp_id, modified_by="kim.dev", service_workload={"nifi": {"memory": str(mib)}}
    )


def test_a_change_in_scp_console_after_ours_is_outside_the_console(
    page: Page, celery_worker, scp, orders, admin_user, lead_user
):
    sign_in(page, admin_user.username, PASSWORD)
    _set_memory(page, orders, 2048, "Heap for the month end")
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)

    # Someone undoes part of the reviewed change in SCP's own console; a refresh runs.
    _in_scp_console(scp, orders, 3072)
    assert not services_sync().errors

    _switch(page, lead_user)
    page.get_by_test_id("nav-history").click()
    rows = page.get_by_test_id("history-row")
    expect(rows).to_have_count(2)
    page.get_by_label("Status").select_option(label="Changed outside the console")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("kim.dev")
    expect(rows.first).to_contain_text("NiFi memory")
    snap(page, "outside-after-ours-history")

    page.goto(f"/services/{orders.pk}/compare/")
    memory = page.locator("[data-field='workloads.nifi.memory']")
    expect(memory).to_contain_text("2048 MiB")
    expect(memory).to_contain_text("3072 MiB")
    expect(page.get_by_test_id("compare-heads")).to_contain_text("kim.dev")
    page.goto(f"/services/{orders.pk}/revisions/")
    expect(page.get_by_test_id("revision-row")).to_have_count(3)
    expect(page.locator("[data-testid=revision-row][data-revision='3']")).to_contain_text("kim.dev")
    snap(page, "outside-after-ours-revisions")


def test_a_lead_meets_a_newer_value_in_scp_and_decides_explicitly(
    page: Page, celery_worker, scp, orders, admin_user, lead_user, settings
):
    settings.SCP_NEEDS_APPROVAL = True
    scp.clear_requests()
    sign_in(page, admin_user.username, PASSWORD)
    _set_memory(page, orders, 2048, "Heap for the month end")
    expect(page.get_by_test_id("change-status")).to_have_text("Awaiting approval")
    # Meanwhile someone sets 4096 in SCP's own console; no refresh runs.
    _in_scp_console(scp, orders, 4096)

    _switch(page, lead_user)
    page.get_by_test_id("nav-approvals").click()
    page.get_by_test_id("review-approval").click()
    conflict = page.locator("[data-testid=meanwhile-row][data-conflict=true]")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("kim.dev")
    expect(conflict.get_by_test_id("conflict")).to_contain_text(
        re.compile(
            r"SCP now holds 4096 MiB \(4 GiB\), changed outside the console at "
            r"\d{4}-\d\d-\d\d \d\d:\d\d \S+; this change would set 2048 MiB \(2 GiB\)\."
        )
    )
    diff = page.locator("[data-testid=diff-row][data-field='workloads.nifi.memory']")
    expect(diff).to_contain_text("4096 MiB")
    expect(diff).to_contain_text("2048 MiB")
    expect(page.get_by_test_id("approve")).to_have_count(0)
    expect(page.get_by_test_id("override")).to_be_visible()
    snap(page, "approval-conflict")
    page.get_by_test_id("send-back").click()

    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    expect(page.get_by_test_id("change-status")).to_have_text("Rejected")
    expect(page.get_by_test_id("timeline")).to_contain_text("Sent back to its author by leo")
    expect(page.get_by_test_id("timeline")).to_contain_text("SCP now holds 4096 MiB")
    assert puts(scp, orders) == []
    outside = ChangeRequest.objects.get(kind=Kind.OUTSIDE)
    assert outside.author_name == "kim.dev"
    assert [(e["before"], e["after"]) for e in outside.diff] == [(1024, 4096)]

    # The author makes the change again on SCP's value; SCP moves once more; the lead, having
    # read the newer value, replaces it on purpose.
    _switch(page, admin_user)
    _set_memory(page, orders, 8192, "Heap for the month end, on SCP's current value")
    expect(page.get_by_test_id("change-status")).to_have_text("Awaiting approval")
    _in_scp_console(scp, orders, 6144)
    _switch(page, lead_user)
    page.get_by_test_id("nav-approvals").click()
    page.get_by_test_id("review-approval").click()
    expect(page.get_by_test_id("conflict")).to_contain_text("SCP now holds 6144 MiB (6 GiB)")
    page.get_by_label("Comment").fill("Agreed with kim.dev: 8 GiB it is")
    page.get_by_test_id("override").click()
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    expect(page.get_by_test_id("timeline")).to_contain_text(
        "The approver chose to replace what SCP held"
    )
    [put] = puts(scp, orders)
    assert put["body"]["service_workload"]["nifi"]["memory"] == "8192"
    assert ChangeRequest.objects.filter(kind=Kind.OUTSIDE).count() == 2
    snap(page, "approval-conflict-replaced")
