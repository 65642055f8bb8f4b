"""History in the browser: a team lead compares revisions and finds an outside change; an admin
reverts a service to an older revision through review and confirm."""

from __future__ import annotations

import copy
import csv
import io
import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from console.dataflow.connections.clients import scp_client_for
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ChangeRequest, Service
from console.scp import ServiceConfig, build_update_body
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts, submit_edit, wait_until_final

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Kind = ChangeRequest.Kind


def change_in_scp(service: Service, edit) -> dict:
    """Change a service in SCP itself (a PUT signed with the demo keys), wait until it runs."""
    client = scp_client_for("default")
    config = client.get_service(service.scp_id).config.to_dict()
    edit(config)
    client.update_service(service.scp_id, build_update_body(ServiceConfig.from_dict(config)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        detail = client.get_service(service.scp_id)
        if detail.is_state("RUNNING") and detail.config.to_dict() == config:
            return config
        time.sleep(0.1)
    raise AssertionError("the simulator never applied the outside change")


def outside_edit(config: dict) -> None:
    config["description"] = "Edited in the SCP console"
    config["workloads"]["nifi"]["replica"] = config["workloads"]["nifi"]["replica"] + 1


def test_lead_compares_revisions_finds_an_outside_change_and_exports_it(
    page: Page, scp, imported, admin_user, lead_user, enqueued
):
    service = imported["sales-etl"]
    old_replica = service.config["workloads"]["nifi"]["replica"]
    old_memory = service.config["workloads"]["nifi"]["memory"]

    # A change of the console: SCP shows its edit while it is in flight, then it succeeds.
    def more_memory(config):
        config["workloads"]["nifi"]["memory"] = old_memory * 2

    console = submit_edit(service, admin_user, more_memory, reason="heap for month end")
    change_in_scp(service, more_memory)
    assert not services_sync().errors
    ChangeRequest.objects.filter(pk=console.pk).update(
        status=ChangeRequest.Status.SUCCEEDED, finished_at=timezone.now()
    )
    # Then someone changes the service in SCP itself; a refresh finds it.
    change_in_scp(service, outside_edit)
    assert not services_sync().errors
    outside = ChangeRequest.objects.get(kind=Kind.OUTSIDE)
    assert {e["field"] for e in outside.diff} == {"description", "workloads.nifi.replica"}

    sign_in(page, lead_user.username, PASSWORD)
    page.get_by_test_id("nav-history").click()
    rows = page.get_by_test_id("history-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("weekly-chart").locator("svg[role=img]")).to_have_attribute(
        "aria-label", re.compile(r"Changes per week by outcome, 1 week .*: 2 changes")
    )
    expect(page.locator("[data-testid=weekly-chart] rect[data-outcome=outside]")).to_have_count(1)
    expect(page.locator("[data-testid=weekly-chart] rect[data-outcome=succeeded]")).to_have_count(1)
    snap(page, "history-weekly")
    page.get_by_label("Status").select_option(label="Changed outside the console")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("outside the console")
    expect(rows.first).to_contain_text("NiFi replicas")
    page_ids = rows.evaluate_all("rows => rows.map(r => r.dataset.change)")
    when = rows.first.locator("td").nth(2).inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \S+", when)

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    raw = download.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Korean text as UTF-8
    header, *table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header[:5] == ["Change", "Service", "When", "Who", "Kind"]
    assert [row[0] for row in table] == page_ids
    assert table[0][1] == "sales-etl"
    assert table[0][2].startswith(when[:16])
    assert table[0][4] == "Outside the console"
    assert table[0][8] == "Changed outside the console"

    # The service page: both marks on the chart, the outside change among the recent ones.
    rows.first.get_by_role("link", name="sales-etl").click()
    chart = page.get_by_test_id("service-chart")
    expect(chart.locator("svg[role=img]")).to_have_attribute(
        "aria-label", re.compile("1 console change and 1 change outside the console marked")
    )
    expect(chart.locator("[data-mark=console]")).to_have_count(1)
    expect(chart.locator("[data-mark=outside]")).to_have_count(1)
    expect(chart.locator("polyline.chart-line-nifi")).not_to_have_count(0)
    expect(page.get_by_test_id("recent-changes")).to_contain_text("Changed outside the console")
    expect(page.get_by_test_id("edit-service")).to_have_count(0)
    expect(page.get_by_test_id("edit-host-aliases")).to_have_count(0)
    page.get_by_test_id("service-chart").scroll_into_view_if_needed()
    snap(page, "service-chart")

    # The comparison: newest revision against the one before, field by field.
    page.get_by_test_id("compare-revisions").click()
    expect(page.locator("#id_from")).to_have_value("2")
    expect(page.locator("#id_to")).to_have_value("3")
    diff = page.get_by_test_id("diff-row")
    expect(diff).to_have_count(2)
    replica = page.locator("[data-field='workloads.nifi.replica']")
    expect(replica).to_contain_text(str(old_replica))
    expect(replica).to_contain_text(str(old_replica + 1))
    expect(page.locator("[data-field='description']")).to_contain_text("Edited in the SCP console")
    expect(page.get_by_test_id("compare-heads")).to_contain_text("outside the console")
    expect(page.get_by_test_id("revert")).to_have_count(0)
    snap(page, "compare")

    # Two older revisions: the console's memory change shows in units as on the edit page.
    page.locator("#id_from").select_option("1")
    page.locator("#id_to").select_option("2")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("[data-field='workloads.nifi.memory']")).to_contain_text(
        f"{old_memory * 2} MiB"
    )
    page.goto(f"/services/{service.pk}/revisions/")
    expect(page.get_by_test_id("revision-row")).to_have_count(3)
    expect(page.get_by_test_id("revert")).to_have_count(0)
    assert page.request.get(f"/services/{service.pk}/compare/?from=77").status == 400


@pytest.mark.worker
def test_admin_reverts_a_service_to_an_older_revision(
    page: Page, celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    first = copy.deepcopy(service.config)
    current = change_in_scp(service, outside_edit)
    assert not services_sync().errors
    service.refresh_from_db()
    assert service.config_revision == 2

    sign_in(page, admin_user.username, PASSWORD)
    page.goto(service.get_absolute_url())
    page.get_by_test_id("revisions-link").click()
    page.locator("[data-testid=revision-row][data-revision='1']").get_by_test_id("revert").click()

    # The review shows exactly the fields that go back, prefilled with a reason.
    expect(page).to_have_url(re.compile(r"/review/"))
    rows = page.get_by_test_id("diff-row")
    expect(rows).to_have_count(2)
    expect(page.locator("[data-field='workloads.nifi.replica']")).to_contain_text(
        str(first["workloads"]["nifi"]["replica"])
    )
    reason = page.get_by_label("Reason for this change")
    expect(reason).to_have_value("Revert to revision 1.")
    reason.fill("Revert to revision 1: the SCP console edit was not agreed")
    # Going back to fewer NiFi nodes: the review asks that their queued data was offloaded.
    page.locator("#id_acknowledge_nifi_offload").check()
    snap(page, "revert-review")
    page.get_by_test_id("confirm").click()

    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    change = wait_until_final(ChangeRequest.objects.exclude(kind=Kind.OUTSIDE).get())

    # The PUT carries the current configuration with exactly the reverted fields set back.
    expected = copy.deepcopy(current)
    expected["description"] = first["description"]
    expected["workloads"]["nifi"]["replica"] = first["workloads"]["nifi"]["replica"]
    put = puts(scp, service)[-1]
    assert put["verdict"] == "ok"
    assert put["body"] == build_update_body(ServiceConfig.from_dict(expected))
    assert "account_password" not in put["body"]["account"]
    assert {e["field"] for e in change.diff} == {"description", "workloads.nifi.replica"}
    # The revert is the console's own change, not one more outside change.
    assert ChangeRequest.objects.filter(kind=Kind.OUTSIDE).count() == 1
    service.refresh_from_db()
    assert service.config == ServiceConfig.from_dict(expected).to_dict()
