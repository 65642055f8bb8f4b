"""Checks of SCP connections: endpoint, keys, API version and round trip, kept per connection."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime

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
from console.dataflow.models import DEFAULT_CONNECTION, ConnectionStatus, ScpConnection
from console.dataflow.words.scp_text import scp_error_sentence
from console.scp import (
    ApiVersion,
    ScpBadCredentials,
    ScpBadResponse,
    ScpClient,
    ScpError,
    ScpForbidden,
    ScpNotEnabled,
    ScpThrottled,
    ScpVersionNotSupported,
    version_standing,
)
from console.scp.versions import CURRENT, DEPRECATED, PLANNED, SUPPORT_WARNING_DAYS, days_until

logger = logging.getLogger(__name__)

# One attempt with short timeouts: an unreachable endpoint costs seconds, not minutes.
CHECK_CONNECT_TIMEOUT = 3.0
CHECK_READ_TIMEOUT = 10.0
# A check waits this long at most for the connection's request budget (SCP's throttling).
CHECK_BUDGET_WAIT = 30.0

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
    # OK, but the version is DEPRECATED or its last supported day is near.
    warning: bool = False

    @property
    def line(self) -> str:
        """One line for a terminal: name, endpoint, OK, WARNING or FAILED, and why."""
        verdict = _("FAILED") if not self.ok else _("WARNING") if self.warning else _("OK")
        return f"{self.name}  {self.endpoint or '—'}  {verdict}  {self.message}"


@dataclass(frozen=True)
class VersionWarning:
    """One banner line about a connection's API version; `severe` once the version is unusable."""

    sentence: str
    severe: bool

    def __str__(self) -> str:
        """The sentence."""
        return self.sentence


@dataclass(frozen=True)
class _VersionFindings:
    """What the version list says of the configured version, as verdict fields and words."""

    status: str = ""
    last_day: date | None = None
    current: str = ""
    note: str = ""
    problem: str = ""
    warning: bool = False


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
        verdict = _verdict(
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


def version_warning(status: ConnectionStatus, *, today: date) -> VersionWarning:
    """The banner line for a connection whose version SCP does not list as fine on `today`."""
    params = {
        "name": status.name,
        "version": status.api_version,
        "status": status.version_status,
        "date": status.version_date.isoformat() if status.version_date else "",
        "target": _switch_target(status),
    }
    days = days_until(status.version_date, today)
    if status.version_status == NOT_LISTED:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP no longer lists; switch "
            "to %(target)s."
        )
    elif status.version_status == PLANNED:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP lists as PLANNED (not "
            "callable yet); switch to %(target)s."
        )
    elif status.version_status == REFUSED:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP refuses (406 "
            "NoSuchVersion); switch to %(target)s."
        )
    elif days is not None:
        params["days"] = abs(days)
        severe = days < 0 and status.version_status != CURRENT
        return VersionWarning(_last_day_sentence(days) % params, severe=severe)
    elif status.version_status == DEPRECATED:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP lists as DEPRECATED (last "
            "supported day not given); switch to %(target)s."
        )
    else:
        sentence = _(
            "The SCP connection %(name)s uses %(version)s, which SCP lists as %(status)s; "
            "switch to %(target)s."
        )
    severe = status.version_status in (NOT_LISTED, PLANNED, REFUSED)
    return VersionWarning(sentence % params, severe=severe)


def _last_day_sentence(days: int) -> str:
    """The banner sentence for a version with a last supported day `days` away (< 0: passed)."""
    if days < 0:
        return ngettext(
            "The SCP connection %(name)s uses %(version)s, whose last supported day was "
            "%(date)s (%(days)d day ago); switch to %(target)s.",
            "The SCP connection %(name)s uses %(version)s, whose last supported day was "
            "%(date)s (%(days)d days ago); switch to %(target)s.",
            -days,
        )
    return ngettext(
        "The SCP connection %(name)s uses %(version)s, which SCP lists as %(status)s with "
        "%(date)s as its last supported day (%(days)d day left); switch to %(target)s.",
        "The SCP connection %(name)s uses %(version)s, which SCP lists as %(status)s with "
        "%(date)s as its last supported day (%(days)d days left); switch to %(target)s.",
        days,
    )


def _switch_target(status: ConnectionStatus) -> str:
    """The version to move to: the CURRENT one, or its successor when this one is CURRENT."""
    current = status.current_version
    if current and current.lower() != status.api_version.lower():
        return current
    if status.version_status == CURRENT or current:
        return _("its successor once SCP lists one")
    return _("the version SCP lists as CURRENT")


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
    return _verdict(
        name=name,
        endpoint=client.base_url,
        api_version=client.api_version,
        versions=versions,
        versions_error=versions_error,
        list_error=list_error,
        round_trip_ms=elapsed,
        today=timezone.localdate(),
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
    today: date,
) -> ConnectionVerdict:
    """The verdict from what the version list and the signed list call answered."""
    notes = [_("endpoint answers")]
    problems: list[str] = []
    keys_ok, keys_words = _keys_findings(list_error)
    (notes if keys_ok else problems).extend(keys_words)

    if versions is not None:
        found = _version_findings(api_version, versions, today=today)
    elif isinstance(list_error, ScpVersionNotSupported):
        found = _VersionFindings(status=REFUSED)
    elif versions_error is not None:
        found = _VersionFindings(
            note=_("%(version)s status unknown (no version list: %(answer)s)")
            % {"version": api_version, "answer": _answer(versions_error)}
        )
    else:
        found = _VersionFindings()
    if found.note:
        notes.append(found.note)
    if found.problem:
        problems.append(found.problem)
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
        version_status=found.status,
        version_date=found.last_day,
        current_version=found.current,
        round_trip_ms=round_trip_ms,
        message=" · ".join(notes if ok else problems),
        warning=found.warning,
    )


def _keys_findings(list_error: ScpError | None) -> tuple[bool | None, list[str]]:
    """Whether the keys signed the list call (None: no telling), and the words for it."""
    if list_error is None:
        return True, [_("keys sign correctly")]
    if isinstance(list_error, ScpBadCredentials):
        return False, [_("keys refused: %(error)s") % {"error": _scp_words(list_error)}]
    if isinstance(list_error, ScpForbidden):
        return False, [
            _("keys may not list Data Flow services: %(error)s") % {"error": _scp_words(list_error)}
        ]
    if isinstance(list_error, ScpNotEnabled):
        return None, [
            _("Data Flow is not enabled for this account or region: %(error)s")
            % {"error": _scp_words(list_error)}
        ]
    if isinstance(list_error, ScpVersionNotSupported):
        return None, []
    return None, [
        _("the signed list call failed: %(error)s") % {"error": _scp_words(list_error, own=True)}
    ]


def _version_findings(
    api_version: str, versions: tuple[ApiVersion, ...], *, today: date
) -> _VersionFindings:
    """What the list says of `api_version` on `today`: a note, or a problem that fails the check."""
    standing = version_standing(versions, api_version)
    current = standing.current.header_value if standing.current else ""
    others = (
        " " + _("(current: %(version)s)") % {"version": current}
        if current and current.lower() != api_version.lower()
        else ""
    )
    entry = standing.entry
    if entry is None:
        problem = _("%(version)s not listed by SCP") % {"version": api_version}
        return _VersionFindings(status=NOT_LISTED, current=current, problem=problem + others)
    found = {"status": entry.status, "last_day": entry.last_day, "current": current}
    if entry.status == PLANNED:
        planned = _("%(version)s PLANNED, not callable yet") % {"version": api_version}
        return _VersionFindings(**found, problem=planned + others)
    label = (
        f"{api_version} {entry.status}"
        if entry.status
        else _("%(version)s listed without a status") % {"version": api_version}
    )
    days = entry.days_left(today)
    if entry.last_day is None or days is None:
        if entry.status == DEPRECATED:
            label = _("%(version)s, last supported day not given") % {"version": label}
        return _VersionFindings(**found, note=label + others, warning=entry.status == DEPRECATED)
    words = _support_words(label, entry.last_day, days) + others
    # Guess: the last day itself is still supported (SCP's guide says a date that has "arrived"
    # ends support; Samsung's SDK calls it the "Until Supported date"); the warning covers it.
    if days < 0 and entry.status == CURRENT:
        # Guess: SCP's own documented example lists a CURRENT version whose not_before has
        # passed; while SCP still calls it CURRENT it serves it, so the check warns, not fails.
        still = _("SCP still lists it as CURRENT")
        return _VersionFindings(**found, note=f"{words} ({still}){others}", warning=True)
    if days < 0:
        return _VersionFindings(**found, problem=words)
    near = days <= SUPPORT_WARNING_DAYS
    return _VersionFindings(**found, note=words, warning=near or entry.status == DEPRECATED)


def _support_words(label: str, last_day: date, days: int) -> str:
    """`data-flow 1.0 DEPRECATED, last supported day 2027-01-31, 58 days left` and the like."""
    params = {"version": label, "date": last_day.isoformat(), "days": abs(days)}
    if days < 0:
        return (
            ngettext(
                "%(version)s, last supported day %(date)s passed %(days)d day ago",
                "%(version)s, last supported day %(date)s passed %(days)d days ago",
                -days,
            )
            % params
        )
    return (
        ngettext(
            "%(version)s, last supported day %(date)s, %(days)d day left",
            "%(version)s, last supported day %(date)s, %(days)d days left",
            days,
        )
        % params
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
