"""The change pipeline through a real Celery worker, a real broker and the SCP simulator."""

from __future__ import annotations

import json
import logging

import pytest

from console.dataflow.models import ChangeRequest
from tests.dataflow.helpers import add_alias, puts, raise_memory, submit_edit, wait_until_final

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = ChangeRequest.Status


def test_change_succeeds_with_one_signed_put_of_the_complete_configuration(
    celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    before = json.loads(json.dumps(service.config))

    change = submit_edit(service, admin_user, lambda c: (raise_memory(c), add_alias(c)))
    change = wait_until_final(change)

    assert change.status == Status.SUCCEEDED, [str(e) for e in change.events.all()]
    [put] = puts(scp, service)
    assert put["verdict"] == "ok" and put["status"] == 202
    body = put["body"]
    assert body["service_workload"]["nifi"]["memory"] == str(
        before["workloads"]["nifi"]["memory"] * 2
    )
    # Every other field goes out unchanged, as strings.
    assert body["service_workload"]["zookeeper"] == {
        k: str(v) for k, v in before["workloads"]["zookeeper"].items()
    }
    assert body["domain"] == before["domain"]
    assert body["node_selector"] == before["node_selector"]
    assert body["account"] == {"account_id": before["account_id"]}
    hostnames = [a["hostname"] for a in body["host_alias"]["host_alias_list"]]
    assert hostnames == [a["hostname"] for a in before["host_aliases"]] + [
        "metrics.internal.example"
    ]
    assert change.web_url_nifi == service.web_url_nifi
    statuses = [e.status for e in change.events.all()]
    assert statuses[0] == Status.QUEUED and statuses[-1] == Status.SUCCEEDED
    assert Status.ACCEPTED in statuses and Status.SUBMITTING in statuses
    service.refresh_from_db()
    assert service.state == "RUNNING"
    assert (
        service.config["workloads"]["nifi"]["memory"] == before["workloads"]["nifi"]["memory"] * 2
    )


def test_partial_application_ends_applied_with_differences(
    celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    scp.fault(service.scp_id, update_outcome="partial")

    change = wait_until_final(submit_edit(service, admin_user, raise_memory))

    assert change.status == Status.DIFFERENT
    assert [d["field"] for d in change.differences] == ["workloads.nifi.memory"]
    assert "NiFi memory" in change.events.last().message


def test_update_ending_in_error_is_failed_with_what_scp_said(
    celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    scp.fault(service.scp_id, update_outcome="error")

    change = wait_until_final(submit_edit(service, admin_user, add_alias))

    assert change.status == Status.FAILED
    assert "ERROR" in change.error["message"] or "cluster_request_failed" in change.error["message"]


def test_validation_error_from_scp_is_shown_with_its_detail(
    celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    scp.fault(guess_rules=True)  # that a version must be on offer is a guess, off by default

    def unknown_version(config):
        config["workloads"]["nifi"]["version"] = "9.9.9"

    change = wait_until_final(submit_edit(service, admin_user, unknown_version))

    assert change.status == Status.FAILED
    assert change.error["code"] == "ValidationError"
    assert change.error["status"] == 400
    assert change.error["global_request_id"].startswith("req-")
    assert any("9.9.9" in d for d in change.error["details"])
    assert len(puts(scp, service)) == 1  # a 400 is never retried
    # The attempt's detail is stored as facts and said in each reader's language.
    from django.utils import translation

    attempt = change.tries.get()
    assert attempt.detail_said and "9.9.9" in attempt.detail
    with translation.override("ko"):
        korean = attempt.detail_text
    assert "9.9.9" in korean and korean != attempt.detail


def test_transient_faults_are_retried_and_each_attempt_signed_afresh(
    celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    # Three 503s defeat the client's own GET retries, so the task itself must retry.
    scp.fault(service.scp_id, fail_next=3, fail_status=503)

    change = wait_until_final(submit_edit(service, admin_user, raise_memory), timeout=45)

    assert change.status == Status.SUCCEEDED
    assert change.attempts == 2
    assert len(puts(scp, service)) == 1
    gets = [
        r for r in scp.requests() if r["method"] == "GET" and r["path"].endswith(service.scp_id)
    ]
    signatures = [r["headers"]["Scp-Signature"] for r in gets]
    assert len(set(signatures)) == len(signatures)  # no signature reused
    assert "Trying again" in " ".join(e.message for e in change.events.all())


def test_password_goes_to_scp_but_nowhere_else(celery_worker, scp, imported, admin_user, caplog):
    caplog.set_level(logging.DEBUG)
    service = imported["sales-etl"]
    password = "N3w!Secret-pw"

    change = wait_until_final(submit_edit(service, admin_user, lambda c: None, password=password))

    assert change.status == Status.SUCCEEDED
    [put] = puts(scp, service)
    assert put["body"]["account"]["account_password"] == password
    change.refresh_from_db()
    assert change.account_password_encrypted == ""  # erased once final
    stored = json.dumps(
        [change.diff, change.scp_answer, change.desired_config, change.error, change.differences]
    )
    assert password not in stored
    assert password not in caplog.text
    assert all(password not in e.message for e in change.events.all())
