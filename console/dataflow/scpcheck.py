"""Checks of SCP connections: endpoint, keys, API version and round trip, kept per connection."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from console.dataflow.connections import ConnectionUnavailable, connection_names, scp_client_for
from console.dataflow.crypto import SecretUnreadable
from console.dataflow.models import DEFAULT_CONNECTION, ConnectionStatus, ScpConnection
from console.dataflow.scp_text import scp_error_sentence
from console.scp import (
    ApiVersion,
    ScpBadCredentials,
    ScpBadResponse,
    ScpClient,
    ScpError,
    ScpForbidden,
    ScpNotEnabled,
    ScpVersionNotSupported,
    version_standing,
)

logger = logging.getLogger(__name__)

# One attempt with short timeouts: an unreachable endpoint costs seconds, not minutes.
CHECK_CONNECT_TIMEOUT = 3.0
CHECK_READ_TIMEOUT = 10.0

NOT_LISTED = ConnectionStatus.NOT_LISTED
REFUSED = ConnectionStatus.REFUSED


@dataclass(frozen=True)
class ConnectionVerdict:
    """What one check found; `ok` is False when the console cannot work with the connection."""

    name: str
    endpoint: str
    api_version: str
    ok: bool
    endpoint_ok: bool
    keys_ok: bool | None
    version_status: str = ""
    version_date: date | None = None
    current_version: str = ""
    round_trip_ms: int | None = None
    message: str = ""
    checked_at: datetime = field(default_factory=timezone.now)

    @property
    def line(self) -> str:
        """One line for a terminal: name, endpoint, OK or FAILED, and why."""
        verdict = _("OK") if self.ok else _("FAILED")
        return f"{self.name}  {self.endpoint or '—'}  {verdict}  {self.message}"


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
    try:
        client = scp_client_for(name)
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
            verdict = _probe(name, client)
        finally:
            client.close()
    connection_status_store(verdict=verdict)
    return verdict


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
        verdict = _verdict(
            name=name,
            endpoint=client.base_url,
            api_version=client.api_version,
            versions=versions,
            versions_error=None,
            list_error=None,
            round_trip_ms=elapsed,
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


def version_warning(status: ConnectionStatus) -> str:
    """The banner sentence for a connection whose version SCP does not list as fine."""
    params = {
        "name": status.name,
        "version": status.api_version,
        "when": status.version_date.isoformat() if status.version_date else _("date not given"),
        "status": status.version_status,
        "target": status.current_version or _("the version SCP lists as CURRENT"),
    }
    if status.version_status == "DEPRECATED":
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP lists as DEPRECATED "
            "(removal %(when)s); switch to %(target)s."
        )
    elif status.version_status == NOT_LISTED:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP no longer lists; switch "
            "to %(target)s."
        )
    elif status.version_status == "PLANNED":
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP lists as PLANNED (not "
            "callable yet); switch to %(target)s."
        )
    elif status.version_status == REFUSED:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP refuses (406 "
            "NoSuchVersion); switch to %(target)s."
        )
    else:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP lists as %(status)s; "
            "switch to %(target)s."
        )
    return sentence % params


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
    if versions_error is not None and versions_error.status is None:
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
    return _verdict(
        name=name,
        endpoint=client.base_url,
        api_version=client.api_version,
        versions=versions,
        versions_error=versions_error,
        list_error=list_error,
        round_trip_ms=elapsed,
    )


def _verdict(
    *,
    name: str,
    endpoint: str,
    api_version: str,
    versions: tuple[ApiVersion, ...] | None,
    versions_error: ScpError | None,
    list_error: ScpError | None,
    round_trip_ms: int,
) -> ConnectionVerdict:
    """The verdict from what the version list and the signed list call answered."""
    notes = [_("endpoint answers")]
    problems: list[str] = []

    keys_ok: bool | None = None
    if list_error is None:
        keys_ok = True
        notes.append(_("keys sign correctly"))
    elif isinstance(list_error, ScpBadCredentials):
        keys_ok = False
        problems.append(_("keys refused: %(error)s") % {"error": _scp_words(list_error)})
    elif isinstance(list_error, ScpForbidden):
        keys_ok = False
        problems.append(
            _("keys may not list Data Flow services: %(error)s") % {"error": _scp_words(list_error)}
        )
    elif isinstance(list_error, ScpNotEnabled):
        problems.append(
            _("Data Flow is not enabled for this account or region: %(error)s")
            % {"error": _scp_words(list_error)}
        )
    elif not isinstance(list_error, ScpVersionNotSupported):
        problems.append(
            _("the signed list call failed: %(error)s")
            % {"error": _scp_words(list_error, own=True)}
        )

    version_status = ""
    version_date: date | None = None
    current_version = ""
    if versions is not None:
        standing = version_standing(versions, api_version)
        current_version = standing.current.header_value if standing.current else ""
        others = (
            " " + _("(current: %(version)s)") % {"version": current_version}
            if current_version and current_version.lower() != api_version.lower()
            else ""
        )
        entry = standing.entry
        if entry is None:
            version_status = NOT_LISTED
            problems.append(_("%(version)s not listed by SCP") % {"version": api_version} + others)
        elif entry.status == "PLANNED":
            version_status = entry.status
            version_date = entry.not_before
            if entry.not_before:
                planned = _("%(version)s PLANNED, not callable yet, callable from %(date)s") % {
                    "version": api_version,
                    "date": entry.not_before,
                }
            else:
                planned = _("%(version)s PLANNED, not callable yet") % {"version": api_version}
            problems.append(planned + others)
        elif entry.status == "DEPRECATED":
            version_status = entry.status
            version_date = entry.not_after
            if entry.not_after:
                deprecated = _("%(version)s DEPRECATED, removal %(date)s") % {
                    "version": api_version,
                    "date": entry.not_after,
                }
            else:
                deprecated = _("%(version)s DEPRECATED, removal date not given") % {
                    "version": api_version
                }
            notes.append(deprecated + others)
        else:
            version_status = entry.status
            if entry.status:
                notes.append(f"{api_version} {entry.status}{others}")
            else:
                notes.append(
                    _("%(version)s listed without a status") % {"version": api_version} + others
                )
    elif isinstance(list_error, ScpVersionNotSupported):
        version_status = REFUSED
    elif versions_error is not None:
        notes.append(
            _("%(version)s status unknown (no version list: %(answer)s)")
            % {"version": api_version, "answer": _answer(versions_error)}
        )
    if isinstance(list_error, ScpVersionNotSupported):
        problems.append(
            _("%(version)s refused by SCP: %(error)s")
            % {"version": api_version, "error": _scp_words(list_error)}
        )

    notes.append(f"{round_trip_ms} ms")
    ok = not problems
    return ConnectionVerdict(
        name=name,
        endpoint=endpoint,
        api_version=api_version,
        ok=ok,
        endpoint_ok=True,
        keys_ok=keys_ok,
        version_status=version_status,
        version_date=version_date,
        current_version=current_version,
        round_trip_ms=round_trip_ms,
        message=" · ".join(notes if ok else problems),
    )


def _scp_words(error: ScpError, *, own: bool = False) -> str:
    """SCP's own detail (or, with `own`, the console's sentence) followed by SCP's code."""
    said = scp_error_sentence(error) if own or not error.detail else error.detail
    code = error.code or (f"HTTP {error.status}" if error.status else "")
    return f"{said} ({code})" if code else said


def _answer(error: ScpError) -> str:
    """A short account of an HTTP answer: `HTTP 404 Not Found`, `HTTP 200, unreadable body`."""
    if isinstance(error, ScpBadResponse) and error.status and 200 <= error.status < 300:
        return _("HTTP %(status)s, unreadable body") % {"status": error.status}
    return " ".join(part for part in (f"HTTP {error.status}", error.code) if part)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
