"""/healthz: does this process reach its database and its broker? For load balancers."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 3.0


def _database_check() -> None:
    """Raise unless the database answers a trivial query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker_check() -> None:
    """Raise unless the broker accepts a connection within a few seconds."""
    from console.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        # Transports connect lazily: opening a channel is the round trip that proves it.
        conn.default_channel  # noqa: B018


@never_cache
@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 `{"database": "ok", "broker": "ok"}`, or 503 naming the part that failed."""
    report: dict[str, str] = {}
    for name, check in (("database", _database_check), ("broker", _broker_check)):
        try:
            check()
        except Exception as exc:  # any failure to answer is "down", whatever its kind
            logger.warning("healthz: %s unreachable: %s", name, type(exc).__name__)
            report[name] = "unreachable"
        else:
            report[name] = "ok"
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse(report, status=200 if healthy else 503)
