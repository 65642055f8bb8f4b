"""Checks of SCP connections: endpoint, keys, API version and round trip, kept per connection.

This module runs the checks and keeps their verdicts; `scpfindings` says what SCP's answers
mean.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.dataflow.connections.budget import ConnectionPacer
from console.dataflow.connections.clients import (
    ConnectionUnavailable,
    connection_names,
    scp_client_for,
)
from console.dataflow.connections.crypto import SecretUnreadable
from console.dataflow.connections.scpfindings import ConnectionVerdict, connection_verdict
from console.dataflow.models import DEFAULT_CONNECTION, ConnectionStatus, ScpConnection
from console.dataflow.words.scp_text import scp_error_sentence
from console.scp import ApiVersion, ScpClient, ScpError, ScpThrottled

logger = logging.getLogger(__name__)

# One attempt with short timeouts: an unreachable endpoint costs seconds, not minutes.
CHECK_CONNECT_TIMEOUT = 3.0
CHECK_READ_TIMEOUT = 10.0
# A check waits this long at most for the connection's request budget (SCP's throttling).
CHECK_BUDGET_WAIT = 30.0


@dataclass(frozen=True)
class ConnectionRow:
    """One connection as the connections page lists it, with its last stored verdict."""

    name: str
    endpoint: str
    api_version: str
    status: ConnectionStatus | None


def connection_check(*, name: str) -> ConnectionVerdict:
    """Check one connection against SCP and store the verdict as its ConnectionStatus."""
    endpoint, api_version = _configured(name)
    pacer = ConnectionPacer(name, max_wait=CHECK_BUDGET_WAIT)
    try:
        client = scp_client_for(name, pacer=pacer)
    except (ConnectionUnavailable, SecretUnreadable, ValueError) as exc:
        verdict = ConnectionVerdict(
            name=name,
            endpoint=endpoint,
            api_version=api_version,
            ok=False,
            endpoint_ok=False,
            keys_ok=None,
            message=_("not usable: %(reason)s") % {"reason": exc},
        )
    else:
        client.limit(
            max_attempts=1,
            connect_timeout=CHECK_CONNECT_TIMEOUT,
            read_timeout=CHECK_READ_TIMEOUT,
        )
        try:
            verdict = _with_pacing(_probe(name, client), pacer)
        finally:
            client.close()
    connection_status_store(verdict=verdict)
    return verdict


def _with_pacing(verdict: ConnectionVerdict, pacer: ConnectionPacer) -> ConnectionVerdict:
    """The verdict, saying what throttling the check met and how long it waited for it."""
    if not pacer.throttled and pacer.waited < 1:
        return verdict
    if pacer.throttled:
        note = ngettext(
            "SCP throttled %(count)d request of the check; waited %(seconds)s s",
            "SCP throttled %(count)d requests of the check; waited %(seconds)s s",
            pacer.throttled,
        ) % {"count": pacer.throttled, "seconds": f"{pacer.waited:.0f}"}
    else:
        note = _("waited %(seconds)s s for the connection's request budget") % {
            "seconds": f"{pacer.waited:.0f}"
        }
    return replace(verdict, message=f"{verdict.message} · {note}")


def connections_check(*, names: list[str] | None = None) -> list[ConnectionVerdict]:
    """Check every usable connection (or `names`, all of them); verdicts of others are dropped."""
    if names is None:
        names = connection_names()
    # A removed or disabled connection's old verdict would otherwise warn forever.
    ConnectionStatus.objects.exclude(name__in=names).delete()
    return [connection_check(name=name) for name in names]


def connection_versions_refresh(*, name: str) -> ConnectionVerdict | None:
    """After a successful list of `name`, store what the version list says of its version.

    The list just worked, so the endpoint answers and the keys sign; only the version can have
    moved. Never raises: a version list SCP cannot give leaves the stored verdict as it was.
    """
    try:
        client = scp_client_for(name)
        client.limit(
            max_attempts=1,
            connect_timeout=CHECK_CONNECT_TIMEOUT,
            read_timeout=CHECK_READ_TIMEOUT,
        )
        try:
            started = time.monotonic()
            versions = client.api_versions()
            elapsed = _ms_since(started)
        finally:
            client.close()
        verdict = connection_verdict(
            name=name,
            endpoint=client.base_url,
            api_version=client.api_version,
            versions=versions,
            versions_error=None,
            list_error=None,
            round_trip_ms=elapsed,
            today=timezone.localdate(),
        )
        connection_status_store(verdict=verdict)
    except Exception as exc:  # the sync it follows has succeeded; this must not undo that
        logger.warning("API version list of connection %s not refreshed: %s", name, exc)
        return None
    return verdict


def connection_status_store(*, verdict: ConnectionVerdict) -> ConnectionStatus:
    """Upsert the verdict as the connection's one ConnectionStatus row."""
    status, _created = ConnectionStatus.objects.update_or_create(
        name=verdict.name,
        defaults={
            "checked_at": verdict.checked_at,
            "ok": verdict.ok,
            "endpoint_ok": verdict.endpoint_ok,
            "keys_ok": verdict.keys_ok,
            "api_version": verdict.api_version,
            "version_status": verdict.version_status,
            "version_date": verdict.version_date,
            "current_version": verdict.current_version,
            "round_trip_ms": verdict.round_trip_ms,
            "message": verdict.message,
        },
    )
    return status


def connections_overview() -> list[ConnectionRow]:
    """`default` and every enabled connection, each with its last stored verdict (one query)."""
    rows = [
        (DEFAULT_CONNECTION, settings.SCP_OPENAPI_URL, settings.SCP_API_VERSION),
        *ScpConnection.objects.filter(enabled=True)
        .exclude(name=DEFAULT_CONNECTION)
        .values_list("name", "base_url", "api_version"),
    ]
    statuses = {s.name: s for s in ConnectionStatus.objects.filter(name__in=[r[0] for r in rows])}
    return [
        ConnectionRow(name=name, endpoint=endpoint, api_version=version, status=statuses.get(name))
        for name, endpoint, version in rows
    ]


def _configured(name: str) -> tuple[str, str]:
    """The endpoint and API version a connection is configured with ("" when unknown)."""
    if name == DEFAULT_CONNECTION:
        return settings.SCP_OPENAPI_URL, settings.SCP_API_VERSION
    row = ScpConnection.objects.filter(name=name).values_list("base_url", "api_version").first()
    return row if row is not None else ("", "")


def _probe(name: str, client: ScpClient) -> ConnectionVerdict:
    """The version list (does the endpoint answer?), then one signed list page (keys)."""
    versions: tuple[ApiVersion, ...] | None = None
    versions_error: ScpError | None = None
    started = time.monotonic()
    try:
        versions = client.api_versions()
    except ScpError as exc:
        versions_error = exc
    elapsed = _ms_since(started)
    unanswered = versions_error is not None and versions_error.status is None
    if unanswered and not isinstance(versions_error, ScpThrottled):
        # No HTTP answer at all (refused, timed out, TLS): nothing else can be learnt.
        return ConnectionVerdict(
            name=name,
            endpoint=client.base_url,
            api_version=client.api_version,
            ok=False,
            endpoint_ok=False,
            keys_ok=None,
            round_trip_ms=None,
            message=_("endpoint does not answer: %(error)s")
            % {"error": scp_error_sentence(versions_error)},
        )
    list_error: ScpError | None = None
    try:
        client.services_page(page=0, size=1)
    except ScpError as exc:
        list_error = exc
    return connection_verdict(
        name=name,
        endpoint=client.base_url,
        api_version=client.api_version,
        versions=versions,
        versions_error=versions_error,
        list_error=list_error,
        round_trip_ms=elapsed,
        today=timezone.localdate(),
    )


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
