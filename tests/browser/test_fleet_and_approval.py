"""Support moves a Kafka broker's IP on every service that has it; leads approve changes."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ChangeRequest, Service
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
KAFKA = "kafka-1.stream.internal"
OLD, NEW = "10.20.1.11", "10.20.1.111"


def _kafka_clients(scp, count: int = 3) -> list[Service]:
    """`count` more simulator services holding kafka-1 at the old IP, imported."""
    for letter in "abcd"[:count]:
        scp.add_service(
            data_flow_service_name=f"kafka-client-{letter}",
            host_alias={
                "enabled": "true",
                "host_alias_list": [
                    {"hostname": f"app-{letter}.corp.internal", "ip": "10.60.0.7"},
                    {"hostname": KAFKA, "ip": OLD},
                ],
            },
        )
    assert not services_sync().errors
    scp.clear_requests()
    return list(Service.objects.filter(name__startswith="kafka-client-").order_by("name"))


def _fleet_form(page: Page, *, name: str = "") -> None:
    page.get_by_test_id("fleet-change").click()
    if name:
        page.get_by_label("Name contains").fill(name)
    page.get_by_label("Host aliases contain (IP or host name)").fill(KAFKA)
    page.get_by_label("Edit").select_option("replace_ip")
    page.get_by_label("Old IP").fill(OLD)
    page.get_by_label("New IP").fill(NEW)
    page.get_by_test_id("fleet-preview").click()


def _index(log: list[dict], method: str, service: Service) -> list[int]:
    return [
        i
        for i, r in enumerate(log)
        if r["method"] == method and r["path"].rstrip("/").endswith(service.scp_id)
    ]


def test_support_moves_kafka_on_every_service_canary_first(
    page: Page, celery_worker, scp, imported, support_user
):
    clients = _kafka_clients(scp)
    targets = [imported["iot-ingest"], *clients]  # every service holding kafka-1 at OLD
    before = {s.pk: s.config["host_aliases"] for s in targets}

    sign_in(page, support_user.username, PASSWORD)
    _fleet_form(page)
    included = page.locator("[data-testid=preview-row][data-included=yes]")
    expect(included).to_have_count(4)
    for row in included.all():
        expect(row.get_by_test_id("diff-row")).to_have_count(1)
        expect(row.locator(f"[data-field='host_aliases.{KAFKA}']")).to_contain_text(NEW)
    expect(page.locator("[data-testid=preview-row][data-service=sales-etl]")).to_have_count(0)
    page.get_by_label("Ticket").fill("NET-4711")
    page.get_by_label("Reason for this fleet change").fill("Kafka broker 1 moved to a new host")
    snap(page, "fleet-1-preview")
    page.get_by_test_id("fleet-confirm").click()

    expect(page).to_have_url(re.compile(r"/fleet/\d+/$"))
    expect(page.get_by_test_id("fleet-status")).to_have_text("Succeeded", timeout=60_000)
    members = page.get_by_test_id("fleet-member")
    expect(members).to_have_count(4)
    for status in page.get_by_test_id("member-status").all():
        expect(status).to_have_text("Succeeded")
    snap(page, "fleet-progress")  # docs/fleet-progress.png is a copy of this one

    log = scp.requests()
    canary, rest = targets[0], targets[1:]  # iot-ingest sorts first by name
    first_other_put = min(i for s in rest for i in _index(log, "PUT", s))
    assert max(_index(log, "GET", canary)) < first_other_put  # the canary ran again first
    for service in targets:
        [put] = puts(scp, service)
        sent = put["body"]["host_alias"]["host_alias_list"]
        expected = [{**a, "ip": NEW} if a["hostname"] == KAFKA else a for a in before[service.pk]]
        assert sent == expected
    assert all(c.fleet_id for c in ChangeRequest.objects.all())


def test_a_failing_canary_stops_the_fleet_and_nothing_else_is_sent(
    page: Page, celery_worker, scp, imported, support_user
):
    clients = _kafka_clients(scp)
    scp.fault(clients[0].scp_id, update_outcome="error")

    sign_in(page, support_user.username, PASSWORD)
    _fleet_form(page, name="kafka-client")
    expect(page.locator("[data-testid=preview-row][data-included=yes]")).to_have_count(3)
    page.get_by_label("Ticket").fill("NET-4712")
    page.get_by_label("Reason for this fleet change").fill("Kafka broker 1 moved")
    page.get_by_test_id("fleet-confirm").click()

    expect(page.get_by_test_id("fleet-status")).to_have_text("Stopped at a failure", timeout=60_000)
    reason = page.get_by_test_id("fleet-stop-reason")
    expect(reason).to_contain_text("kafka-client-a failed")
    expect(reason).to_contain_text("ERROR")
    expect(page.get_by_test_id("fleet-resume")).to_be_visible()
    history = page.get_by_test_id("fleet-events")
    expect(history).to_contain_text(f"Started by {support_user.username}.")
    expect(history).to_contain_text("kafka-client-a failed.")  # the live page shows the stop
    snap(page, "fleet-canary-failed")
    time.sleep(1.0)  # a wrongly started wave would have sent by now
    assert len(puts(scp, clients[0])) == 1
    assert [puts(scp, s) for s in clients[1:]] == [[], []]

    page.get_by_test_id("fleet-cancel").click()
    expect(page.get_by_test_id("fleet-status")).to_have_text("Cancelled")
    expect(history).to_contain_text(f"Cancelled by {support_user.username}.")
    assert [puts(scp, s) for s in clients[1:]] == [[], []]


def _submit_alias(page: Page, service: Service, line: str, reason: str) -> None:
    page.goto(f"/services/{service.pk}/host-aliases/")
    hosts = page.get_by_label("Host aliases (hosts-file lines)")
    hosts.fill(hosts.input_value() + line + "\n")
    page.get_by_label("Ticket").fill("CHG-9")
    page.locator("#id_reason").fill(reason)
    page.get_by_test_id("preview").click()
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))


def _switch(page: Page, user) -> None:
    page.context.clear_cookies()
    sign_in(page, user.username, PASSWORD)


def test_with_approval_on_a_lead_approves_and_a_rejected_change_is_never_sent(
    page: Page, celery_worker, scp, imported, admin_user, lead_user, settings
):
    settings.SCP_NEEDS_APPROVAL = True
    service = imported["sales-etl"]
    scp.clear_requests()

    sign_in(page, admin_user.username, PASSWORD)
    _submit_alias(page, service, "10.30.0.9 ldap.corp.internal", "LDAP moved")
    expect(page.get_by_test_id("change-status")).to_have_text("Awaiting approval")
    change_url = page.url
    change = ChangeRequest.objects.get()
    expect(page.get_by_test_id("decide-change")).to_have_count(0)
    page.goto(f"/changes/{change.pk}/decide/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert puts(scp, service) == []

    _switch(page, lead_user)
    expect(page.get_by_test_id("approvals-count")).to_have_text("1")
    page.get_by_test_id("nav-approvals").click()
    page.get_by_test_id("review-approval").click()
    expect(page.get_by_test_id("diff-row")).to_have_count(1)
    expect(page.get_by_test_id("precheck")).to_be_visible()
    page.get_by_label("Comment").fill("Checked with the network team")
    snap(page, "approval-review")
    page.get_by_test_id("approve").click()
    assert page.url == change_url
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    expect(page.get_by_test_id("decision")).to_contain_text("Approved by leo")
    assert len(puts(scp, service)) == 1

    _switch(page, admin_user)
    _submit_alias(page, service, "10.30.0.10 ldap2.corp.internal", "A second LDAP")
    expect(page.get_by_test_id("change-status")).to_have_text("Awaiting approval")
    _switch(page, lead_user)
    page.get_by_test_id("nav-approvals").click()
    page.get_by_test_id("review-approval").click()
    page.get_by_test_id("reject").click()
    expect(page.get_by_text("Say why you reject it")).to_be_visible()
    page.get_by_label("Comment").fill("Not during the freeze")
    page.get_by_test_id("reject").click()
    expect(page.get_by_test_id("change-status")).to_have_text("Rejected")
    expect(page.get_by_test_id("timeline")).to_contain_text(
        "Rejected by leo: Not during the freeze"
    )
    time.sleep(1.0)
    assert len(puts(scp, service)) == 1
