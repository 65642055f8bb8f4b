"""Recovery: claims no live process holds (every worker's dispatcher, Celery beat) are taken
back, and a change whose attempt ended unrecorded is followed or queued again."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone, translation

from console.dataflow.changes.language import change_language
from console.dataflow.changes.lifecycle import change_move
from console.dataflow.changes.steps import change_fail, tracking_start
from console.dataflow.changes.track import POLL_LEASE_SECONDS
from console.dataflow.models import TRACKING, ChangeAttempt, ChangeRequest
from console.dataflow.words.events import said, said_n
from console.dataflow.work.workers import BEAT_DEAD_AFTER, workers_alive

Status = ChangeRequest.Status


# A worker lost this many times while sending ends the change (each loss is one attempt that
# never finished); transient answers are waited out for SCP_RETRY_PATIENCE_MINUTES instead.
WORKER_LOSSES_TOLERATED = 6
# A worker's own claim is taken back only this long after it was made: a task that has just
# claimed may not be on the worker's list of active tasks yet.
OWN_CLAIM_GRACE = timedelta(seconds=10)


def changes_recover_dead(*, identity: str | None, busy: set[int], now=None) -> int:
    """Take back the claims no live process holds; how many changes were taken back.

    A claim is dead when its process stopped beating, or, for this worker's own claims
    (`identity`), when none of its tasks works on that change (`busy`): the attempt ended
    without recording its end (the database did not answer, or an unexpected error). A claim
    of a live process is never taken.
    """
    now = now or timezone.now()
    alive = workers_alive(now=now)
    return _sending_recover(identity=identity, busy=busy, alive=alive, now=now) + _polls_recover(
        identity=identity, busy=busy, alive=alive, now=now
    )


def _sending_recover(*, identity: str | None, busy: set[int], alive: set[str], now) -> int:
    """Changes claimed for sending by a process that stopped, or by this worker but idle."""
    taken = 0
    held = ChangeRequest.objects.filter(status=Status.SUBMITTING)
    for change in held.select_related("service"):
        claimed_at = change.submitted_at or now
        if change.claimed_by == identity:
            if change.pk not in busy and claimed_at < now - OWN_CLAIM_GRACE:
                taken += _recover_submitting(change, stopped=False)
        elif change.claimed_by not in alive and claimed_at < now - BEAT_DEAD_AFTER:
            taken += _recover_submitting(change, stopped=True)
    return taken


def _polls_recover(*, identity: str | None, busy: set[int], alive: set[str], now) -> int:
    """A poll leased by a process that is gone (or that no longer works on it) is due again."""
    taken = 0
    leased = ChangeRequest.objects.filter(status__in=TRACKING, next_poll_at__gt=now).exclude(
        claimed_by=""
    )
    for pk, owner, next_poll_at in leased.values_list("pk", "claimed_by", "next_poll_at"):
        claimed_at = next_poll_at - timedelta(seconds=POLL_LEASE_SECONDS)
        mine_and_idle = owner == identity and pk not in busy and claimed_at < now - OWN_CLAIM_GRACE
        if mine_and_idle or (owner != identity and owner not in alive):
            taken += ChangeRequest.objects.filter(
                pk=pk, claimed_by=owner, next_poll_at=next_poll_at
            ).update(next_poll_at=now, claimed_by="")
    return taken


def _recover_submitting(change: ChangeRequest, *, stopped: bool) -> int:
    """A change whose attempt ended unrecorded: follow an unconfirmed PUT, else queue it.

    `stopped`: its worker stopped (no beat); otherwise the worker lives and the attempt ended
    without recording its end.
    """
    with translation.override(change_language(change.language)):
        return _recover_submitting_speaking(change, stopped=stopped)


def _recover_submitting_speaking(change: ChangeRequest, *, stopped: bool) -> int:
    """`_recover_submitting` in the change's language."""
    now = timezone.now()
    _open_attempts_end(change, stopped=stopped, now=now)
    if change.put_unconfirmed:
        return _unconfirmed_follow(change, stopped=stopped, now=now)
    losses = change.tries.filter(outcome=ChangeAttempt.Outcome.WORKER_LOST).count()
    if stopped and losses >= WORKER_LOSSES_TOLERATED:
        change_fail(
            change,
            said_n(
                "The worker stopped while sending, %(count)d time; nothing was sent.",
                "The worker stopped while sending, %(count)d times; nothing was sent.",
                "count",
                count=losses,
            ),
            error={"message": "worker lost", "kind": "WorkerLost"},
        )
        return 0
    return _queue_again(change, stopped=stopped, now=now)


def _open_attempts_end(change: ChangeRequest, *, stopped: bool, now) -> None:
    """The attempt left open ends here, so no row says "sending" for ever."""
    open_attempts = change.tries.filter(finished_at__isnull=True)
    if stopped:
        open_attempts.update(outcome=ChangeAttempt.Outcome.WORKER_LOST, finished_at=now)
        return
    open_attempts.filter(put_sent=True).update(
        outcome=ChangeAttempt.Outcome.ANSWER_LOST, finished_at=now
    )
    open_attempts.update(outcome=ChangeAttempt.Outcome.NOT_SENT, finished_at=now)


def _unconfirmed_follow(change: ChangeRequest, *, stopped: bool, now) -> int:
    """SCP may have received the PUT: follow the service (its next poll due now), never resend."""
    if stopped:
        message = said(
            "The worker stopped while sending; SCP may have received the update: "
            "following the service before any new attempt."
        )
    else:
        message = said(
            "The attempt's end was not recorded (the database did not answer, or an "
            "unexpected error); SCP may have received the update: following the service "
            "before any new attempt."
        )
    return int(
        change_move(
            change.pk,
            frm=Status.SUBMITTING,
            to=Status.ACCEPTED,
            message=message,
            accepted_at=now,
            claimed_by="",
            **{**tracking_start(now), "next_poll_at": now},
        )
    )


def _queue_again(change: ChangeRequest, *, stopped: bool, now) -> int:
    """Nothing was sent: the change is queued again, due now (SCP is read before any PUT)."""
    if stopped:
        message = said("The worker stopped before sending; SCP's state is read before any PUT.")
    else:
        message = said(
            "The attempt stopped before sending (the database did not answer, or an unexpected "
            "error); SCP's state is read before any PUT."
        )
    return int(
        change_move(
            change.pk,
            frm=Status.SUBMITTING,
            to=Status.QUEUED,
            message=message,
            next_poll_at=now,
            claimed_by="",
        )
    )
