"""The Celery app: JSON only, time limits, tasks autodiscovered from the Django apps."""

import os

from celery import Celery

from console.config import run_or_explain

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

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
