"""Four-eyes approval: a confirmed change waits; only another approver lets it go."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from console.dataflow.changes.approvals import (
    ApprovalRefused,
    approval_needed,
    approvals_pending_for,
)
from console.dataflow.changes.approve import change_approve, change_reject, change_withdraw
from console.dataflow.changes.steps import SEND_TASK
from console.dataflow.models import ChangeRequest, ScpConnection
from tests.dataflow.helpers import add_alias, submit_edit

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status


@pytest.fixture
def approval_on(settings):
    settings.SCP_NEEDS_APPROVAL = True


@pytest.fixture
def waiting(approval_on, imported, admin_user, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    assert enqueued == []  # nothing is sent before approval
    return change


def test_the_setting_is_per_connection():
    ScpConnection.objects.create(
        name="prod",
        base_url="https://data-flow.kr-west1.e.samsungsdscloud.com",
        access_key="k",
        needs_approval=True,
    )
    assert approval_needed(connection_name="prod") is True
    assert approval_needed(connection_name="other") is False
    assert approval_needed(connection_name="default") is False


def test_a_change_waits_and_the_author_cannot_approve_it(waiting, admin_user):
    assert waiting.status == Status.AWAITING_APPROVAL
    assert "waiting for a team lead" in waiting.events.get().message
    with pytest.raises(ApprovalRefused):
        change_approve(change=waiting, by=admin_user)
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL


def test_a_superuser_author_cannot_approve_their_own_change(approval_on, imported, enqueued):
    boss = get_user_model().objects.create_superuser("boss", password="x" * 20)
    change = submit_edit(imported["sales-etl"], boss, add_alias)
    with pytest.raises(ApprovalRefused):
        change_approve(change=change, by=boss)
    assert approvals_pending_for(boss).count == 0


def test_a_lead_approves_it_and_only_then_it_is_sent(
    waiting, lead_user, enqueued, django_capture_on_commit_callbacks
):
    assert approvals_pending_for(lead_user).count == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert change_approve(change=waiting, by=lead_user, comment="fine")
    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED
    assert (waiting.decision, waiting.decided_by_name, waiting.decision_comment) == (
        "approved",
        "leo",
        "fine",
    )
    assert enqueued == [(SEND_TASK, waiting.pk, None)]
    assert "Approved by leo: fine" in [e.message for e in waiting.events.all()]
    assert approvals_pending_for(lead_user).count == 0


def test_a_rejected_change_needs_a_reason_and_is_never_sent(waiting, lead_user, enqueued):
    with pytest.raises(ApprovalRefused):
        change_reject(change=waiting, by=lead_user, comment="  ")
    assert change_reject(change=waiting, by=lead_user, comment="not in the freeze window")
    waiting.refresh_from_db()
    assert waiting.status == Status.REJECTED and waiting.is_final
    assert enqueued == []
    assert not change_approve(change=waiting, by=lead_user)  # too late


def test_the_author_withdraws_a_waiting_change(waiting, admin_user, lead_user):
    with pytest.raises(ApprovalRefused):
        change_withdraw(change=waiting, by=lead_user)
    assert change_withdraw(change=waiting, by=admin_user)
    waiting.refresh_from_db()
    assert waiting.status == Status.CANCELLED


def test_a_waiting_change_holds_the_service(waiting, imported, lead_user):
    from console.dataflow.changes.submit import ChangeInFlight

    with pytest.raises(ChangeInFlight):
        submit_edit(imported["sales-etl"], lead_user, add_alias)


# --- Pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "name"),
    [
        ("admin_user", "change-decide"),  # the author
        ("support_user", "change-decide"),
        ("support_user", "approvals"),
        ("lead_user", "change-withdraw"),
    ],
)
def test_who_may_not_decide_gets_403_and_nothing_changes(client, request, waiting, role, name):
    client.force_login(request.getfixturevalue(role))
    args = [] if name == "approvals" else [waiting.pk]
    method = client.get if name == "approvals" else client.post

    response = method(reverse(f"dataflow:{name}", args=args), {"decision": "approve"})

    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL


def test_a_reject_without_a_comment_writes_nothing(client, waiting, lead_user):
    client.force_login(lead_user)

    response = client.post(
        reverse("dataflow:change-decide", args=[waiting.pk]), {"decision": "reject"}
    )

    assert response.status_code == 400
    assert "Say why you reject it" in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_APPROVAL and waiting.decision == ""


def test_the_lead_sees_the_count_and_the_review(client, waiting, lead_user):
    client.force_login(lead_user)
    listing = client.get(reverse("dataflow:approvals")).content.decode()
    assert 'data-testid="approvals-count">1<' in listing
    review = client.get(reverse("dataflow:change-decide", args=[waiting.pk])).content.decode()
    assert "metrics.internal.example" in review and 'data-testid="precheck"' not in review
