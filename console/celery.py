"""The Celery app: JSON only, time limits, tasks autodiscovered from the Django apps."""

import logging
import os

from celery import Celery, bootsteps
from celery.signals import setup_logging, worker_ready

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


def _logging_configure() -> None:
    """The console's LOGGING from the start, Python's warnings included (Celery warns before it
    sets up logging, e.g. when run as root): one format for every line of every process."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    logging.captureWarnings(True)


_logging_configure()


@setup_logging.connect
def _log_as_the_console_does(loglevel=None, **_: object) -> None:
    """Workers and beat log through the console's LOGGING: plain lines, or one JSON object per
    line with LOG_FORMAT=json, as the web process does (Celery keeps its hands off)."""
    _logging_configure()
    if loglevel:  # --loglevel still counts
        logging.getLogger().setLevel(loglevel)


@app.task(name="console.ping")
def ping() -> str:
    """Answer "pong": proves a round trip through the broker and a worker."""
    return "pong"


class Dispatcher(bootsteps.StartStopStep):
    """Every worker beats, takes back dead claims and sends what is due (dataflow.dispatch).

    Its identity (node, main pid, a start token) is drawn before the pool starts, so that the
    pool's processes inherit it: their claims name this worker and nothing else.
    """

    def __init__(self, parent, **kwargs):
        """Draw the worker's identity."""
        from console.dataflow.work.workers import worker_identity_start

        super().__init__(parent, **kwargs)
        self.identity = worker_identity_start(node=parent.hostname)
        self.thread = None

    def start(self, parent):
        """Start the dispatcher thread (its first tick at once)."""
        from console.dataflow.work.dispatch import DispatcherThread

        self.thread = DispatcherThread(identity=self.identity, busy=_busy_changes)
        self.thread.start()
        logger.info("worker %s started its dispatcher", self.identity)

    def stop(self, parent):
        """Stop the dispatcher thread."""
        if self.thread is not None:
            self.thread.stop()
            self.thread.join(timeout=10)

    # A cold shutdown asks steps to terminate, not to stop: the thread ends either way.
    terminate = stop


def _busy_changes() -> set[int]:
    """The changes this worker's tasks are sending or polling now (or hold to run next)."""
    from celery.worker import state

    from console.dataflow.changes.steps import SEND_TASK, TRACK_TASK

    busy = set()
    for request in (*state.active_requests, *state.reserved_requests):
        if request.name in (SEND_TASK, TRACK_TASK) and request.args:
            busy.add(int(request.args[0]))
    return busy


app.steps["worker"].add(Dispatcher)


@worker_ready.connect
def _refresh_at_start(sender: object, **_: object) -> None:
    """Refresh services without waiting (the dispatcher takes back what dead workers left)."""
    from django.conf import settings

    from console.dataflow.inventory.sync import services_sync_request

    if settings.CONSOLE_SYNC_AT_WORKER_START:
        services_sync_request(requested_by=None)
