"""The change lifecycle: only the table's transitions happen, each with its event."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from console.dataflow.changes.lifecycle import (
    IllegalTransition,
    change_actions,
    change_move,
    change_stuck,
)
from console.dataflow.models import FINAL, IN_FLIGHT, TRANSITIONS, ChangeRequest, Service

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status
ALL = [status for status, _ in Status.choices]


def _change(status: str, **fields) -> ChangeRequest:
    service = Service.objects.create(scp_id=f"svc-{Service.objects.count()}", name="svc")
    return ChangeRequest.objects.create(
        service=service,
        author_name="alice",
        reason="test",
        base_revision=1,
        base_config={},
        desired_config={},
        status=status,
        account_password_encrypted="token",
        **fields,
    )


def test_the_table_names_every_status_and_final_statuses_lead_nowhere():
    assert set(TRANSITIONS) == set(ALL)
    assert set(IN_FLIGHT) | set(FINAL) == set(ALL)
    for status in FINAL:
        assert TRANSITIONS[status] == frozenset()


@pytest.mark.parametrize(("source", "target"), list(itertools.product(ALL, ALL)))
def test_only_the_tables_transitions_happen(source, target):
    change = _change(source)
    allowed = target in TRANSITIONS[source]

    if allowed:
        assert change_move(change.pk, frm=source, to=target, message="moved") is True
        change.refresh_from_db()
        assert change.status == target
        assert change.events.get().status == target
    else:
        with pytest.raises(IllegalTransition):
            change_move(change.pk, frm=source, to=target, message="moved")
        change.refresh_from_db()
        assert change.status == source
        assert not change.events.exists()


def test_a_move_from_a_status_the_change_has_left_writes_nothing():
    change = _change(Status.SUBMITTING)

    assert change_move(change.pk, frm=Status.QUEUED, to=Status.CANCELLED, message="late") is False
    change.refresh_from_db()
    assert change.status == Status.SUBMITTING
    assert not change.events.exists()


def test_a_final_move_erases_the_password_and_stamps_the_end():
    change = _change(Status.UPDATING, next_poll_at=timezone.now())

    change_move(change.pk, frm=Status.UPDATING, to=Status.SUCCEEDED, message="done")

    change.refresh_from_db()
    assert change.account_password_encrypted == ""
    assert change.finished_at is not None and change.next_poll_at is None


def test_actions_follow_the_status_and_the_role(admin_user, lead_user, support_user):
    queued = _change(Status.QUEUED, author=support_user)
    failed = _change(Status.FAILED)

    assert change_actions(queued, admin_user).cancel
    assert change_actions(queued, support_user).cancel  # its author
    assert not change_actions(queued, lead_user).cancel
    assert change_actions(failed, admin_user).retry
    assert not change_actions(failed, lead_user).retry
    assert not change_actions(failed, support_user).retry  # a full change, not host aliases


def test_a_change_stuck_in_submitting_may_be_abandoned_by_admins_only(admin_user, lead_user):
    from console.dataflow.models import WorkerBeat

    long_ago = timezone.now() - timedelta(minutes=10)
    stuck = _change(Status.SUBMITTING, submitted_at=long_ago, claimed_by="w@h|1|aa")
    fresh = _change(Status.SUBMITTING, submitted_at=timezone.now())

    # The page says what it knows: the worker holding it stopped, or is still at it.
    assert "has stopped; another worker takes it back" in change_stuck(stuck)
    WorkerBeat.objects.create(identity="w@h|1|aa", node="w@h")
    assert "A worker is still sending this change" in change_stuck(stuck)
    assert change_stuck(fresh) is None
    assert change_actions(stuck, admin_user).abandon
    assert not change_actions(fresh, admin_user).abandon
    assert not change_actions(stuck, lead_user).abandon


def test_an_accepted_change_scp_never_showed_is_stuck_after_the_grace(settings):
    settings.SCP_TRACK_START_GRACE_SECONDS = 60
    now = timezone.now()
    waiting = _change(
        Status.ACCEPTED, accepted_at=now - timedelta(minutes=5), next_poll_at=now, update_seen=False
    )
    seen = _change(
        Status.ACCEPTED, accepted_at=now - timedelta(minutes=5), next_poll_at=now, update_seen=True
    )

    assert "not shown this update starting" in change_stuck(waiting)
    assert change_stuck(seen) is None


@pytest.mark.django_db(transaction=True)
def test_a_final_move_dispatches_the_follow_ups_once_after_commit(monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr(
        "console.dataflow.changes.lifecycle.change_finished_dispatch", dispatched.append
    )
    change = _change(Status.UPDATING)

    change_move(change.pk, frm=Status.UPDATING, to=Status.SUCCEEDED, message="done")
    change_move(change.pk, frm=Status.UPDATING, to=Status.FAILED, message="late, refused")

    assert dispatched == [change.pk]


@pytest.mark.django_db(transaction=True)
def test_a_follow_up_that_fails_never_stops_the_others(monkeypatch, caplog):
    from console.dataflow.changes import finished

    ran: list[str] = []

    def broken(change_id):
        raise RuntimeError("mail server down")

    monkeypatch.setattr(
        finished,
        "FOLLOWUPS",
        [("broken", broken), ("next", lambda pk: ran.append("next"))],
    )
    finished.change_finished(change_id=1)

    assert ran == ["next"]
    assert "follow-up broken of change 1 failed" in caplog.text
