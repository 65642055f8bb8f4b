"""SCP's own console, approvals and refreshes: nothing the console does rewrites what SCP holds.

A change in SCP's own console to a field the console changed is outside the console; a value
SCP applied differently from the request is still the console's; a change awaiting approval is
re-planned on SCP's configuration when approved, and a conflict is never overwritten silently; a
refresh never writes a detail older than what the console holds.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console.dataflow.changes import track
from console.dataflow.changes.approve import change_approve
from console.dataflow.changes.replan import (
    ApprovalConflict,
    ApprovalStale,
    ApprovalUnchecked,
    approval_replan,
    change_send_back,
)
from console.dataflow.changes.send import change_send
from console.dataflow.changes.track import change_track
from console.dataflow.connections.clients import scp_client_for
from console.dataflow.inventory.fetching import DetailBatch as _Batch
from console.dataflow.inventory.revisions import detail_is_stale
from console.dataflow.inventory.storing import batch_write as _write_batch
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ChangeRequest, ConfigRevision, Service
from console.scp import ServiceConfig
from tests.dataflow.helpers import add_alias, puts, submit_edit
from tests.dataflow.pages import page_text
from tests.notify_servers import catalogue_compile
from tests.test_languages import ENGLISH_WORD, reader, without_data

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status
Kind = ChangeRequest.Kind
NAME = "orders-flow"


@pytest.fixture
def service(scp, db) -> Service:
    """A service whose NiFi has 1024 MiB, imported from the simulator."""
    scp.add_service(data_flow_service_name=NAME, service_workload={"nifi": {"memory": "1024"}})
    assert not services_sync().errors
    return Service.objects.get(name=NAME)


@pytest.fixture
def approval_on(settings):
    settings.SCP_NEEDS_APPROVAL = True


def memory(value: int):
    def edit(config):
        config["workloads"]["nifi"]["memory"] = value

    return edit


def in_scp_console(scp, service: Service, **fields) -> None:
    """Someone changes the service in SCP's own console."""
    scp.change_in_scp_console(service.scp_id, **fields)


def nifi_memory(value: int) -> dict:
    return {"service_workload": {"nifi": {"memory": str(value)}}}


def poll(change: ChangeRequest) -> None:
    """One tracking poll, now (as the next scheduled one would)."""
    ChangeRequest.objects.filter(pk=change.pk).update(next_poll_at=timezone.now())
    change_track(change_id=change.pk)
    change.refresh_from_db()


def track_until_final(change: ChangeRequest, timeout: float = 10.0) -> ChangeRequest:
    """Poll as the worker would until the change is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poll(change)
        if change.is_final:
            return change
        time.sleep(0.2)
    raise AssertionError(f"change still {change.status}")


def wait_until_scp_runs(scp, service: Service) -> None:
    """Until the simulator has finished the pending update."""
    deadline = time.monotonic() + 10
    while scp.service(service.scp_id)["pending"]:
        assert time.monotonic() < deadline, "the simulator never finished the update"
        time.sleep(0.1)


def revision_of(service: Service) -> ConfigRevision:
    service.refresh_from_db()
    return ConfigRevision.objects.get(service=service, revision=service.config_revision)


def outside_entries(service: Service) -> list[ChangeRequest]:
    return list(service.changes.filter(kind=Kind.OUTSIDE).order_by("created_at", "pk"))


def client_for(user, language: str = "en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


# --- 4. A change in SCP's own console to a field the console changed ----------------------


def test_the_same_field_changed_in_scp_console_after_our_change_is_outside(
    scp, service, admin_user, enqueued
):
    change = submit_edit(service, admin_user, memory(2048))
    change_send(change_id=change.pk)
    assert track_until_final(change).status == Status.SUCCEEDED
    assert revision_of(service).change == change

    in_scp_console(scp, service, modified_by="kim.dev", **nifi_memory(3072))
    assert not services_sync().errors

    [outside] = outside_entries(service)
    assert outside.author_name == "kim.dev"
    assert [(e["field"], e["before"], e["after"]) for e in outside.diff] == [
        ("workloads.nifi.memory", 2048, 3072)
    ]
    assert revision_of(service).change == outside


def test_a_value_scp_applied_differently_stays_ours_and_a_later_edit_is_outside(
    scp, service, admin_user, enqueued, monkeypatch
):
    scp.fault(service.scp_id, update_delay=2)  # the first poll surely sees it under way
    change = submit_edit(service, admin_user, memory(2048))
    change_send(change_id=change.pk)
    poll(change)  # SCP shows the update under way
    assert change.status == Status.UPDATING
    wait_until_scp_runs(scp, service)

    # Guess made concrete: SCP rounds the memory it was asked for.
    real = scp_client_for

    def rounding_client(name, **kwargs):
        client = real(name, **kwargs)
        get_service = client.get_service

        def rounded(service_id):
            detail = get_service(service_id)
            config = detail.config.to_dict()
            config["workloads"]["nifi"]["memory"] = 1920
            return dataclasses.replace(detail, config=ServiceConfig.from_dict(config))

        client.get_service = rounded
        return client

    monkeypatch.setattr(track, "scp_client_for", rounding_client)
    poll(change)

    assert change.status == Status.DIFFERENT
    assert [(d["field"], d["after"]) for d in change.differences] == [
        ("workloads.nifi.memory", 1920)
    ]
    assert revision_of(service).change == change
    assert outside_entries(service) == []

    monkeypatch.setattr(track, "scp_client_for", real)
    in_scp_console(scp, service, **nifi_memory(3072))
    assert not services_sync().errors
    [outside] = outside_entries(service)
    assert [(e["before"], e["after"]) for e in outside.diff] == [(1920, 3072)]
    assert outside.author_name == "outside the console"


def test_a_refresh_during_tracking_keeps_our_change_ours(scp, service, admin_user, enqueued):
    scp.fault(service.scp_id, update_delay=2)  # long enough for a whole refresh meanwhile
    change = submit_edit(service, admin_user, memory(2048))
    change_send(change_id=change.pk)
    first = service.config_revision

    # A refresh while SCP is still updating: the old configuration, no new revision.
    assert not services_sync().errors
    assert revision_of(service).revision == first

    # A refresh after SCP applied it, before the change's own poll saw it.
    wait_until_scp_runs(scp, service)
    assert not services_sync().errors
    change.refresh_from_db()
    assert not change.is_final
    assert revision_of(service).change == change
    assert track_until_final(change).status == Status.SUCCEEDED
    assert outside_entries(service) == []

    # Someone undoes the reviewed change in SCP's own console: that is outside.
    in_scp_console(scp, service, **nifi_memory(1024))
    assert not services_sync().errors
    [outside] = outside_entries(service)
    assert [(e["before"], e["after"]) for e in outside.diff] == [(2048, 1024)]


# --- 5. Approvals re-plan on SCP's configuration -------------------------------------------


@pytest.fixture
def waiting(approval_on, service, admin_user, enqueued) -> ChangeRequest:
    """A change NiFi memory 1024 → 2048 awaiting approval."""
    change = submit_edit(service, admin_user, memory(2048), reason="month end")
    assert change.status == Status.AWAITING_APPROVAL
    return change


def test_a_change_awaiting_approval_explains_no_revision(scp, service, waiting):
    in_scp_console(scp, service, **nifi_memory(2048))  # the very value, set outside

    assert not services_sync().errors

    [outside] = outside_entries(service)
    assert revision_of(service).change == outside


def test_an_approval_keeps_another_field_changed_meanwhile(
    scp, service, waiting, lead_user, enqueued
):
    in_scp_console(scp, service, modified_by="kim.dev", description="set in the SCP console")

    assert change_approve(change=waiting, by=lead_user, comment="fine")

    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED
    assert waiting.base_config["description"] == "set in the SCP console"
    assert waiting.desired_config["description"] == "set in the SCP console"
    assert waiting.desired_config["workloads"]["nifi"]["memory"] == 2048
    assert [e["field"] for e in waiting.diff] == ["workloads.nifi.memory"]
    [outside] = outside_entries(service)  # what SCP held is on record, by whom
    assert outside.author_name == "kim.dev"
    assert [e["field"] for e in outside.diff] == ["description"]
    approved = waiting.events.get(status=Status.QUEUED).message
    assert approved.startswith("Approved by leo. Re-planned on SCP's configuration of now: ")
    assert "Description changed in SCP after the author confirmed" in approved
    assert approved.endswith(" Comment: fine")

    change_send(change_id=waiting.pk)
    [put] = puts(scp, service)
    assert put["body"]["description"] == "set in the SCP console"
    assert put["body"]["service_workload"]["nifi"]["memory"] == "2048"


@pytest.mark.parametrize("refreshed", [False, True], ids=["no refresh", "refreshed"])
def test_the_same_field_changed_meanwhile_is_a_conflict_never_overwritten_silently(
    scp, service, waiting, lead_user, enqueued, refreshed
):
    in_scp_console(scp, service, modified_by="kim.dev", **nifi_memory(4096))
    if refreshed:
        assert not services_sync().errors

    with pytest.raises(ApprovalConflict, match="send the change back to its author"):
        change_approve(change=waiting, by=lead_user)

    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL
    assert puts(scp, service) == []
    [outside] = outside_entries(service)  # 4096 is on record, by whom and when
    assert outside.author_name == "kim.dev"
    assert [(e["before"], e["after"]) for e in outside.diff] == [(1024, 4096)]
    assert revision_of(service).change == outside
    replan = approval_replan(change=waiting, service=service)
    [conflict] = replan.conflicts
    assert conflict["field"] == "workloads.nifi.memory"
    assert conflict["by"] == "kim.dev"
    assert conflict["sentence"].startswith(
        "SCP now holds 4096 MiB (4 GiB), changed outside the console at "
    )
    assert conflict["sentence"].endswith("; this change would set 2048 MiB (2 GiB).")
    assert [(e["before"], e["after"]) for e in replan.entries] == [(4096, 2048)]


def test_a_host_alias_set_meanwhile_to_another_ip_is_a_conflict(
    approval_on, scp, service, admin_user, lead_user, enqueued
):
    change = submit_edit(service, admin_user, add_alias)  # metrics.internal.example 10.20.0.40
    in_scp_console(
        scp,
        service,
        host_alias={
            "enabled": "true",
            "host_alias_list": [{"hostname": "metrics.internal.example", "ip": "10.9.9.9"}],
        },
    )

    with pytest.raises(ApprovalConflict):
        change_approve(change=change, by=lead_user)

    service.refresh_from_db()
    [conflict] = approval_replan(change=change, service=service).conflicts
    assert conflict["field"] == "host_aliases.metrics.internal.example"
    assert conflict["sentence"].startswith("SCP now holds 10.9.9.9, changed outside the console")
    assert conflict["sentence"].endswith("this change would set 10.20.0.40.")


def test_the_approver_replaces_scps_newer_value_only_explicitly_on_what_they_saw(
    scp, service, waiting, lead_user, enqueued
):
    in_scp_console(scp, service, **nifi_memory(4096))
    assert not services_sync().errors
    service.refresh_from_db()
    seen = service.config_revision

    with pytest.raises(ApprovalStale):
        change_approve(change=waiting, by=lead_user, override=True, seen_revision=seen - 1)
    assert change_approve(change=waiting, by=lead_user, override=True, seen_revision=seen)

    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED
    assert [(e["before"], e["after"]) for e in waiting.diff] == [(4096, 2048)]
    approved = waiting.events.get(status=Status.QUEUED).message
    assert (
        "The approver chose to replace what SCP held: NiFi memory: SCP now holds 4096" in approved
    )
    change_send(change_id=waiting.pk)
    [put] = puts(scp, service)
    assert put["body"]["service_workload"]["nifi"]["memory"] == "2048"
    assert track_until_final(waiting).status == Status.SUCCEEDED
    assert revision_of(service).change == waiting


def test_the_approver_sends_a_conflicting_change_back_to_its_author(
    scp, service, waiting, lead_user, enqueued
):
    in_scp_console(scp, service, **nifi_memory(4096))
    assert not services_sync().errors

    assert change_send_back(change=waiting, by=lead_user, comment="talk to ops first")

    waiting.refresh_from_db()
    assert waiting.status == Status.REJECTED
    assert (waiting.decision, waiting.decided_by_name) == ("rejected", "leo")
    assert "NiFi memory: SCP now holds 4096 MiB (4 GiB)" in waiting.decision_comment
    assert waiting.decision_comment.endswith("talk to ops first")
    assert waiting.events.last().message.startswith("Sent back to its author by leo: ")
    assert puts(scp, service) == []
    assert not change_send_back(change=waiting, by=lead_user)  # decided already


def test_an_approval_when_scp_cannot_be_read_approves_nothing(
    scp, service, waiting, lead_user, enqueued
):
    scp.fault(service.scp_id, fail_next=10, fail_status=503)

    with pytest.raises(ApprovalUnchecked, match="nothing was approved"):
        change_approve(change=waiting, by=lead_user)

    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL


# --- The approver's page -------------------------------------------------------------------


def decide_url(change: ChangeRequest) -> str:
    return reverse("dataflow:change-decide", args=[change.pk])


def test_the_lead_sees_the_conflict_without_a_refresh_and_plain_approve_is_refused(
    scp, service, waiting, lead_user
):
    in_scp_console(scp, service, modified_by="kim.dev", **nifi_memory(4096))
    lead = client_for(lead_user)

    page = lead.get(decide_url(waiting))

    assert page.status_code == 200
    text = page_text(page)
    assert "SCP now holds 4096 MiB (4 GiB), changed outside the console at " in text
    assert "this change would set 2048 MiB (2 GiB)." in text
    assert 'data-testid="approve"' not in page.content.decode()
    assert page.context["replan"].revision == revision_of(service).revision
    refused = lead.post(decide_url(waiting), {"decision": "approve"})
    assert refused.status_code == 409
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL
    assert puts(scp, service) == []


def test_the_lead_replaces_or_sends_back_from_the_page(scp, service, waiting, lead_user):
    in_scp_console(scp, service, **nifi_memory(4096))
    lead = client_for(lead_user)
    revision = lead.get(decide_url(waiting)).context["replan"].revision

    response = lead.post(decide_url(waiting), {"decision": "return", "revision": revision})

    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == Status.REJECTED


def test_an_override_from_a_page_older_than_scps_value_is_refused(scp, service, waiting, lead_user):
    lead = client_for(lead_user)
    revision = lead.get(decide_url(waiting)).context["replan"].revision
    in_scp_console(scp, service, **nifi_memory(4096))  # after the page was drawn

    response = lead.post(decide_url(waiting), {"decision": "override", "revision": revision})

    assert response.status_code == 409
    assert "changed again while you were reviewing" in page_text(response)
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL


def test_the_page_says_when_scp_cannot_be_read(scp, service, waiting, lead_user):
    scp.fault(service.scp_id, fail_next=10, fail_status=503)

    page = client_for(lead_user).get(decide_url(waiting))

    assert page.status_code == 200
    assert 'data-testid="scp-unread"' in page.content.decode()


@pytest.mark.parametrize("unread", [False, True], ids=["read", "SCP unreadable"])
def test_the_approvers_page_reads_in_korean(scp, service, waiting, lead_user, unread):
    in_scp_console(scp, service, modified_by="kim.dev", description="ops", **nifi_memory(4096))
    if unread:
        assert not services_sync().errors
        scp.fault(service.scp_id, fail_next=10, fail_status=503)
    catalogue_compile()

    page = client_for(lead_user, "ko").get(decide_url(waiting))

    html = page.content.decode()
    assert ('data-testid="scp-unread"' in html) is unread
    assert 'data-testid="conflict"' in html and 'data-testid="kept"' in html
    # Names, values and SCP's own words (the gateway's "Service Unavailable") are data.
    data = {NAME, "kim.dev", "ops", "alice", "Leo", "month end", "Service Unavailable"}
    text = without_data(reader(html), data)
    assert not ENGLISH_WORD.findall(text), text


# --- 5. A refresh never writes a stale configuration ----------------------------------------


@pytest.mark.parametrize("read_started", [True, False], ids=["read time", "modified_dt only"])
def test_a_refresh_that_read_before_our_change_never_writes_the_old_config(
    scp, service, admin_user, enqueued, read_started
):
    started = timezone.now()
    stale = scp_client_for("default").get_service(service.scp_id)  # 1024, read before our PUT
    change = submit_edit(service, admin_user, memory(2048))
    change_send(change_id=change.pk)
    assert track_until_final(change).status == Status.SUCCEEDED
    ours = revision_of(service)

    batch = _Batch("default", details=[(service.scp_id, stale)])
    if read_started:
        batch.read_started = started
    assert _write_batch(batch) == 0

    service.refresh_from_db()
    assert service.config["workloads"]["nifi"]["memory"] == 2048
    assert revision_of(service) == ours
    assert not services_sync().errors  # the next refresh invents no outside change
    assert outside_entries(service) == []
    assert revision_of(service).change == change


def test_a_read_that_started_before_the_last_write_is_stale_without_modified_dt(service):
    detail = dataclasses.replace(
        scp_client_for("default").get_service(service.scp_id), modified_dt=None
    )
    service.refresh_from_db()

    assert detail_is_stale(
        service=service, detail=detail, read_at=service.synced_at - timedelta(seconds=1)
    )
    assert not detail_is_stale(service=service, detail=detail, read_at=timezone.now())
    assert not detail_is_stale(service=service, detail=detail)


def test_a_stale_detail_still_marks_a_gone_service_as_listed(scp, service):
    stale = dataclasses.replace(
        scp_client_for("default").get_service(service.scp_id),
        modified_dt=service.scp_modified_at - timedelta(days=1),
    )
    Service.objects.filter(pk=service.pk).update(gone_at=timezone.now())

    assert _write_batch(_Batch("default", details=[(service.scp_id, stale)])) == 1

    service.refresh_from_db()
    assert service.gone_at is None
