"""The product's API version list (SCP_API.md §3) and the `Scp-Api-Version` header check."""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

STATUSES = ("CURRENT", "SUPPORTED", "PLANNED", "DEPRECATED")
# PLANNED versions are documented but not callable.
CALLABLE = ("CURRENT", "SUPPORTED", "DEPRECATED")
HEADER_PRODUCT = "data-flow"

# As the current API reference shows the Data Flow APIs: 1.1 CURRENT, 1.0 SUPPORTED. `not_before`
# is each version's last supported day (SCP_API.md §8). The seed page's minimum for 1.0
# (2026-07-01) is a floor, not the real date, which no source gives: the default list sets 1.0's
# last day a year, and 1.1's two years, after the day the list is set, so that it never expires.
DEFAULT_LAST_DAYS: tuple[tuple[str, str, int], ...] = (
    ("v1.0", "SUPPORTED", 365),
    ("v1.1", "CURRENT", 730),
)

# Guess: SCP counts its dates in Korean time.
SCP_TIME_ZONE = timezone(timedelta(hours=9), "KST")

_ID = re.compile(r"v[0-9]+\.[0-9]+")
_HEADER = re.compile(r"\s*data-flow\s+([0-9]+\.[0-9]+)\s*", re.IGNORECASE)
_FIELDS = ("id", "status", "not_before")
_NOT_AFTER = "SCP's version list has no not_after; not_before is the version's last supported day"


def default_versions(today: date) -> list[dict[str, str]]:
    """The default list as it reads on `today`: 1.0 SUPPORTED, 1.1 CURRENT, both far from expiry."""
    return [
        {"id": vid, "status": status, "not_before": (today + timedelta(days=days)).isoformat()}
        for vid, status, days in DEFAULT_LAST_DAYS
    ]


def scp_today(now: float) -> date:
    """The calendar day at SCP for epoch seconds `now`."""
    return datetime.fromtimestamp(now, UTC).astimezone(SCP_TIME_ZONE).date()


def versions_parse(body: Any) -> tuple[list[dict[str, str]], list[str]]:
    """A `POST /_simulator/versions` body as (the new list, errors)."""
    if not isinstance(body, dict) or not isinstance(body.get("versions"), list):
        return [], ['body: must be {"versions": [{"id": "v1.1", "status": "CURRENT"}, ...]}']
    entries: list[dict[str, str]] = []
    errors: list[str] = []
    for index, item in enumerate(body["versions"]):
        where = f"versions[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be an object with id and status")
            continue
        errors += _entry_errors(where, item)
        entries.append({key: item[key] for key in _FIELDS if key in item})
    errors += _list_errors(entries)
    return entries, errors


def _entry_errors(where: str, item: dict[str, Any]) -> list[str]:
    """What is wrong with one entry of the list: its fields, id, status and last day."""
    errors = _unknown_fields(where, item)
    version_id, status = item.get("id"), item.get("status")
    if not isinstance(version_id, str) or not _ID.fullmatch(version_id):
        errors.append(
            f"{where}.id: must look like v1.1 (v, digits, '.', digits); got {version_id!r}"
        )
    if status not in STATUSES:
        errors.append(f"{where}.status: must be one of {', '.join(STATUSES)}; got {status!r}")
    if "not_before" in item and not _is_date(item["not_before"]):
        errors.append(
            f"{where}.not_before: must be a date YYYY-MM-DD (the last supported day); "
            f"got {item['not_before']!r}"
        )
    return errors


def _list_errors(entries: list[dict[str, str]]) -> list[str]:
    """What is wrong with the list as a whole: an id twice, or more than one CURRENT."""
    ids = [entry.get("id") for entry in entries]
    errors = [
        f"versions: {vid} is listed twice"
        for vid in sorted({i for i in ids if ids.count(i) > 1 and isinstance(i, str)})
    ]
    if sum(1 for entry in entries if entry.get("status") == "CURRENT") > 1:
        errors.append("versions: at most one version can be CURRENT")
    return errors


def _unknown_fields(where: str, item: dict[str, Any]) -> list[str]:
    """One error per field the version list does not have; `not_after` says what to use."""
    return [
        f"{where}.{key}: {_NOT_AFTER}" if key == "not_after" else f"{where}.{key}: unknown field"
        for key in item
        if key not in _FIELDS
    ]


def _is_date(value: Any) -> bool:
    """An ISO calendar date such as 2027-01-31."""
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


class VersionBoard:
    """The version list in force; the simulator's request threads share one board."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """Start with the default list as it reads on the clock's day."""
        self._lock = threading.Lock()
        self._clock = clock
        self._versions = default_versions(self.today())

    def today(self) -> date:
        """The day at SCP by the simulator's clock."""
        return scp_today(self._clock())

    def set(self, versions: list[dict[str, str]]) -> None:
        """Replace the list (already checked by `versions_parse`)."""
        with self._lock:
            self._versions = copy.deepcopy(versions)

    def reset(self) -> None:
        """Back to the default list, dated from today."""
        self.set(default_versions(self.today()))

    def snapshot(self) -> list[dict[str, str]]:
        """The list as the control endpoint shows it."""
        with self._lock:
            return copy.deepcopy(self._versions)

    def document(self, base_url: str) -> dict[str, Any]:
        """The endpoint root's answer: each version with a self link, as SCP's reference shows."""
        listed = []
        for entry in self.snapshot():
            item: dict[str, Any] = {
                "id": entry["id"],
                "links": [{"href": base_url + "/", "rel": "self"}],
            }
            if "not_before" in entry:
                item["not_before"] = entry["not_before"]
            item["status"] = entry["status"]
            listed.append(item)
        return {"versions": listed}

    def check_header(self, header: str | None) -> str:
        """Why a call with this `Scp-Api-Version` is refused (406 NoSuchVersion); "" if it is not.

        A missing header means the CURRENT version, as SCP_API.md §2 says.
        """
        versions = self.snapshot()
        today = self.today()
        callable_ids = [entry["id"] for entry in versions if _callable(entry, today)]
        if header is None:
            return _no_header_refusal(versions, callable_ids)
        match = _HEADER.fullmatch(header)
        offered = _offered(callable_ids)
        if match is None:
            return f"unsupported Scp-Api-Version {header!r}; use one of {offered}"
        wanted = "v" + match.group(1)
        entry = next((entry for entry in versions if entry["id"] == wanted), None)
        if entry is not None and entry["id"] in callable_ids:
            return ""
        return f"Scp-Api-Version {header!r} {_refusal(entry)}; use one of {offered}"


def _no_header_refusal(versions: list[dict[str, str]], callable_ids: list[str]) -> str:
    """Why a call without the header is refused: no callable CURRENT version; "" if there is."""
    if any(e["status"] == "CURRENT" and e["id"] in callable_ids for e in versions):
        return ""
    return "no Scp-Api-Version header and no CURRENT version to fall back on"


def _offered(callable_ids: list[str]) -> str:
    """The header values a refusal suggests instead: `data-flow 1.0, data-flow 1.1`."""
    return ", ".join(f"{HEADER_PRODUCT} {vid[1:]}" for vid in callable_ids) or "none"


def _callable(entry: dict[str, str], today: date) -> bool:
    """Listed as callable and not past its last supported day."""
    # Guess: SCP's guide says only that a version past its `not_before` is no longer supported;
    # the simulator serves it on that day and refuses it from the next one, as it refuses an
    # unlisted one (406 NoSuchVersion).
    last_day = entry.get("not_before")
    return entry["status"] in CALLABLE and (
        last_day is None or date.fromisoformat(last_day) >= today
    )


def _refusal(entry: dict[str, str] | None) -> str:
    """Why a listed or unlisted version is not callable, in the words of a 406 detail."""
    if entry is None:
        return "is not offered"
    if entry["status"] == "PLANNED":
        return "is only planned"
    return f"was supported until {entry['not_before']}"
