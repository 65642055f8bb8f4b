"""Celery tasks: each takes ids, calls one pipeline function, and nothing else."""

from __future__ import annotations

from celery import shared_task

from console.dataflow.changes import SEND_TASK, TRACK_TASK, change_send, change_track, changes_sweep
from console.dataflow.finished import FINISHED_TASK, change_finished
from console.dataflow.models import SyncRun
from console.dataflow.notify import (
    EMAIL_TASK,
    WEBHOOK_TASK,
    NotificationTransient,
    notification_email_send,
    notification_webhook_send,
)
from console.dataflow.sync import services_sync


@shared_task(name=SEND_TASK, acks_late=True)
def change_send_task(change_id: int) -> None:
    """Send one queued change to SCP (retries are queued by the pipeline, bounded on the row)."""
    change_send(change_id=change_id)


@shared_task(name=TRACK_TASK, acks_late=True)
def change_track_task(change_id: int) -> None:
    """Poll SCP once for an accepted change (it schedules the next poll itself)."""
    change_track(change_id=change_id)


@shared_task(name="dataflow.changes_sweep")
def changes_sweep_task() -> dict[str, int]:
    """Re-dispatch changes whose Celery message was lost (run by Celery beat)."""
    return changes_sweep()


@shared_task(name="dataflow.services_sync")
def services_sync_task(run_id: int) -> None:
    """Refresh every service from SCP for a requested sync run."""
    run = SyncRun.objects.filter(pk=run_id, finished_at__isnull=True).first()
    if run is not None:
        services_sync(run=run)


@shared_task(name=FINISHED_TASK, acks_late=True)
def change_finished_task(change_id: int) -> None:
    """Run the follow-ups of a change that has become final (notifications, fleet waves)."""
    change_finished(change_id=change_id)


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
