"""Celery tasks: each takes ids, calls one pipeline function, and nothing else.

The work on a change runs in the language of the person it belongs to (`change_speaking`,
`fleet_speaking`): what is still stored as text (an attempt's detail, a fleet's stop reason)
is in their language; timeline events and errors are stored as facts and said to each reader.
"""

from __future__ import annotations

from celery import shared_task

from console.dataflow.changes.finished import FINISHED_TASK, change_finished
from console.dataflow.changes.language import change_speaking
from console.dataflow.changes.schedule import RELEASE_TASK, change_release
from console.dataflow.changes.send import change_send
from console.dataflow.changes.steps import SEND_TASK, TRACK_TASK
from console.dataflow.changes.track import change_track
from console.dataflow.fleet.waves import ADVANCE_TASK, fleet_advance, fleet_speaking
from console.dataflow.inventory.sync import (
    SCHEDULED_SYNC_TASK,
    SYNC_TASK,
    SYNC_TIME_LIMIT_SECONDS,
    SyncAlreadyRunning,
    services_sync,
    services_sync_scheduled,
    sync_deadline,
    sync_speaking,
)
from console.dataflow.models import SyncRun
from console.dataflow.notifications.notify import (
    EMAIL_TASK,
    WEBHOOK_TASK,
    NotificationTransient,
    notification_email_send,
    notification_webhook_send,
)
from console.dataflow.work.dispatch import changes_sweep


@shared_task(name=SEND_TASK, acks_late=True)
def change_send_task(change_id: int) -> None:
    """Send one queued change to SCP (retries are queued by the pipeline, bounded on the row)."""
    with change_speaking(change_id):
        change_send(change_id=change_id)


@shared_task(name=RELEASE_TASK, acks_late=True)
def change_release_task(change_id: int) -> None:
    """Release a scheduled change at its maintenance window's start (once: guarded move)."""
    with change_speaking(change_id):
        change_release(change_id=change_id)


@shared_task(name=TRACK_TASK, acks_late=True)
def change_track_task(change_id: int) -> None:
    """Poll SCP once for an accepted change (it schedules the next poll itself)."""
    with change_speaking(change_id):
        change_track(change_id=change_id)


@shared_task(name="dataflow.changes_sweep")
def changes_sweep_task() -> dict[str, int]:
    """Re-dispatch changes whose Celery message was lost (run by Celery beat)."""
    return changes_sweep()


@shared_task(
    name=SYNC_TASK,
    bind=True,
    soft_time_limit=SYNC_TIME_LIMIT_SECONDS - 60,
    time_limit=SYNC_TIME_LIMIT_SECONDS,
)
def services_sync_task(self, run_id: int) -> None:
    """Refresh every service from SCP for a requested sync run (after any sync running now).

    While another sync runs this one waits in its row; the workers' dispatcher starts it when
    the other has ended (no countdown message waits in the broker).
    """
    run = SyncRun.objects.filter(pk=run_id, finished_at__isnull=True).first()
    if run is None:
        return
    try:
        with sync_speaking(run_id):
            services_sync(run=run, deadline=sync_deadline())
    except SyncAlreadyRunning:
        return


@shared_task(
    name=SCHEDULED_SYNC_TASK,
    soft_time_limit=SYNC_TIME_LIMIT_SECONDS - 60,
    time_limit=SYNC_TIME_LIMIT_SECONDS,
)
def services_sync_scheduled_task() -> None:
    """The sync Celery beat starts every SCP_SYNC_INTERVAL_MINUTES; skipped while one runs."""
    services_sync_scheduled(deadline=sync_deadline())


@shared_task(name=FINISHED_TASK, acks_late=True)
def change_finished_task(change_id: int) -> None:
    """Run the follow-ups of a change that has become final (notifications, fleet waves)."""
    with change_speaking(change_id):
        change_finished(change_id=change_id)


@shared_task(name=ADVANCE_TASK, acks_late=True)
def fleet_advance_task(fleet_id: int) -> None:
    """Take a fleet change one step (start the next wave, stop at a failure, or finish)."""
    with fleet_speaking(fleet_id):
        fleet_advance(fleet_id=fleet_id)


# Notifications: retried only for what a retry may cure, with growing pauses, a few times.
_NOTIFY_RETRY = {
    "autoretry_for": (NotificationTransient,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
    "soft_time_limit": 60,
    "time_limit": 90,
}


@shared_task(name=EMAIL_TASK, **_NOTIFY_RETRY)
def notify_email_task(change_id: int, user_id: int) -> None:
    """Mail one person that a change ended (address and language read from the rows)."""
    notification_email_send(change_id=change_id, user_id=user_id)


@shared_task(name=WEBHOOK_TASK, **_NOTIFY_RETRY)
def notify_webhook_task(change_id: int) -> None:
    """Post a change's end to its connection's webhook (the URL read from settings or the row)."""
    notification_webhook_send(change_id=change_id)
