"""What a check of an SCP connection found, in words: the verdict from SCP's answers, and
the banner line for a version SCP no longer lists as fine. No requests are made here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.dataflow.models import ConnectionStatus
from console.dataflow.words.scp_text import scp_error_sentence
from console.scp import (
    ApiVersion,
    ScpBadCredentials,
    ScpBadResponse,
    ScpError,
    ScpForbidden,
    ScpNotEnabled,
    ScpVersionNotSupported,
    version_standing,
)
from console.scp.versions import CURRENT, DEPRECATED, PLANNED, SUPPORT_WARNING_DAYS, days_until

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


def connection_verdict(
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
    found = _api_version_findings(api_version, versions, versions_error, list_error, today=today)
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


def _api_version_findings(
    api_version: str,
    versions: tuple[ApiVersion, ...] | None,
    versions_error: ScpError | None,
    list_error: ScpError | None,
    *,
    today: date,
) -> _VersionFindings:
    """What is known of `api_version`: from the version list, else from how SCP answered."""
    if versions is not None:
        return _version_findings(api_version, versions, today=today)
    if isinstance(list_error, ScpVersionNotSupported):
        return _VersionFindings(status=REFUSED)
    if versions_error is not None:
        return _VersionFindings(
            note=_("%(version)s status unknown (no version list: %(answer)s)")
            % {"version": api_version, "answer": _answer(versions_error)}
        )
    return _VersionFindings()


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
    others = _current_aside(current, api_version)
    entry = standing.entry
    if entry is None:
        problem = _("%(version)s not listed by SCP") % {"version": api_version}
        return _VersionFindings(status=NOT_LISTED, current=current, problem=problem + others)
    found = {"status": entry.status, "last_day": entry.last_day, "current": current}
    if entry.status == PLANNED:
        planned = _("%(version)s PLANNED, not callable yet") % {"version": api_version}
        return _VersionFindings(**found, problem=planned + others)
    label = _version_label(api_version, entry.status)
    days = entry.days_left(today)
    if entry.last_day is None or days is None:
        if entry.status == DEPRECATED:
            label = _("%(version)s, last supported day not given") % {"version": label}
        return _VersionFindings(**found, note=label + others, warning=entry.status == DEPRECATED)
    return _dated_findings(found, _support_words(label, entry.last_day, days), days, others)


def _current_aside(current: str, api_version: str) -> str:
    """` (current: data-flow 2.0)` when SCP's CURRENT version is another one, else ""."""
    if current and current.lower() != api_version.lower():
        return " " + _("(current: %(version)s)") % {"version": current}
    return ""


def _version_label(api_version: str, status: str) -> str:
    """`data-flow 1.0 DEPRECATED`, or the version said to be listed without a status."""
    if status:
        return f"{api_version} {status}"
    return _("%(version)s listed without a status") % {"version": api_version}


def _dated_findings(
    found: dict[str, Any], support: str, days: int, others: str
) -> _VersionFindings:
    """The findings for a listed version with a last supported day `days` away (< 0: passed).

    `found` holds the entry's status, last day and the current version; `support` says the
    last day in words.
    """
    words = support + others
    # Guess: the last day itself is still supported (SCP's guide says a date that has "arrived"
    # ends support; Samsung's SDK calls it the "Until Supported date"); the warning covers it.
    if days < 0 and found["status"] == CURRENT:
        # Guess: SCP's own documented example lists a CURRENT version whose not_before has
        # passed; while SCP still calls it CURRENT it serves it, so the check warns, not fails.
        still = _("SCP still lists it as CURRENT")
        return _VersionFindings(**found, note=f"{words} ({still}){others}", warning=True)
    if days < 0:
        return _VersionFindings(**found, problem=words)
    near = days <= SUPPORT_WARNING_DAYS
    return _VersionFindings(**found, note=words, warning=near or found["status"] == DEPRECATED)


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
