"""The Celery app: JSON only, time limits, tasks autodiscovered from the Django apps."""

import logging
import os

from celery import Celery
from celery.signals import celeryd_after_setup, worker_init, worker_ready

from console.config import run_or_explain

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

logger = logging.getLogger("console.worker")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _load_settings() -> None:
    # Read the settings now, so a bad variable stops the worker with one line, not a traceback.
    from django.conf import settings

    settings.INSTALLED_APPS  # noqa: B018


run_or_explain(_load_settings)
app.autodiscover_tasks()


@app.task(name="console.ping")
def ping() -> str:
    """Answer "pong": proves a round trip through the broker and a worker."""
    return "pong"


@celeryd_after_setup.connect
def _remember_node(sender: str, **_: object) -> None:
    # The pipeline names the worker holding a change; pool processes inherit the environment.
    os.environ["CONSOLE_WORKER_NODE"] = sender


@worker_init.connect
def _remember_pid(**_: object) -> None:
    os.environ["CONSOLE_WORKER_PID"] = str(os.getpid())


@worker_ready.connect
def _recover_at_start(sender: object, **_: object) -> None:
    """Take back what a dead process of this node left, and refresh services without waiting."""
    from django.conf import settings

    from console.dataflow.changes import changes_recover
    from console.dataflow.sync import services_sync_request

    node = getattr(sender, "hostname", "") or os.environ.get("CONSOLE_WORKER_NODE", "")
    counts = changes_recover(node=node, pid=os.getpid())
    logger.info("worker %s started; changes dispatched again: %s", node, counts)
    if settings.CONSOLE_SYNC_AT_WORKER_START:
        services_sync_request(requested_by=None)
