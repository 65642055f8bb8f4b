"""The product's API version list (SCP_API.md §3) and the `Scp-Api-Version` header check."""

from __future__ import annotations

import copy
import re
import threading
from datetime import date
from typing import Any

STATUSES = ("CURRENT", "SUPPORTED", "PLANNED", "DEPRECATED")
# PLANNED versions are documented but not callable.
CALLABLE = ("CURRENT", "SUPPORTED", "DEPRECATED")
HEADER_PRODUCT = "data-flow"

# As the current API reference shows the Data Flow APIs: 1.1 CURRENT, 1.0 SUPPORTED.
DEFAULT_VERSIONS: tuple[dict[str, str], ...] = (
    {"id": "v1.0", "status": "SUPPORTED", "not_before": "2025-06-01"},
    {"id": "v1.1", "status": "CURRENT", "not_before": "2026-02-23"},
)

_ID = re.compile(r"v[0-9]+\.[0-9]+")
_HEADER = re.compile(r"\s*data-flow\s+([0-9]+\.[0-9]+)\s*", re.IGNORECASE)
# `not_before` is documented. Guess: `not_after` carries a DEPRECATED version's removal date;
# the reference's examples show no such field.
_DATE_FIELDS = ("not_before", "not_after")
_FIELDS = ("id", "status", *_DATE_FIELDS)


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
        errors += [f"{where}.{key}: unknown field" for key in item if key not in _FIELDS]
        version_id, status = item.get("id"), item.get("status")
        if not isinstance(version_id, str) or not _ID.fullmatch(version_id):
            errors.append(
                f"{where}.id: must look like v1.1 (v, digits, '.', digits); got {version_id!r}"
            )
        if status not in STATUSES:
            errors.append(f"{where}.status: must be one of {', '.join(STATUSES)}; got {status!r}")
        for key in _DATE_FIELDS:
            if key in item and not _is_date(item[key]):
                errors.append(f"{where}.{key}: must be a date YYYY-MM-DD; got {item[key]!r}")
        entries.append({key: item[key] for key in _FIELDS if key in item})
    ids = [entry.get("id") for entry in entries]
    errors += [
        f"versions: {vid} is listed twice"
        for vid in sorted({i for i in ids if ids.count(i) > 1 and isinstance(i, str)})
    ]
    if sum(1 for entry in entries if entry.get("status") == "CURRENT") > 1:
        errors.append("versions: at most one version can be CURRENT")
    return entries, errors


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

    def __init__(self) -> None:
        """Start with the default list."""
        self._lock = threading.Lock()
        self._versions = [dict(entry) for entry in DEFAULT_VERSIONS]

    def set(self, versions: list[dict[str, str]]) -> None:
        """Replace the list (already checked by `versions_parse`)."""
        with self._lock:
            self._versions = copy.deepcopy(versions)

    def reset(self) -> None:
        """Back to the default list."""
        self.set([dict(entry) for entry in DEFAULT_VERSIONS])

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
            item.update({key: entry[key] for key in _DATE_FIELDS if key in entry})
            item["status"] = entry["status"]
            listed.append(item)
        return {"versions": listed}

    def check_header(self, header: str | None) -> str:
        """Why a call with this `Scp-Api-Version` is refused (406 NoSuchVersion); "" if it is not.

        A missing header means the CURRENT version, as SCP_API.md §2 says.
        """
        versions = self.snapshot()
        if header is None:
            if any(entry["status"] == "CURRENT" for entry in versions):
                return ""
            return "no Scp-Api-Version header and no CURRENT version to fall back on"
        match = _HEADER.fullmatch(header)
        callable_ids = [entry["id"] for entry in versions if entry["status"] in CALLABLE]
        offered = ", ".join(f"{HEADER_PRODUCT} {vid[1:]}" for vid in callable_ids) or "none"
        if match is None:
            return f"unsupported Scp-Api-Version {header!r}; use one of {offered}"
        wanted = "v" + match.group(1)
        status = next((entry["status"] for entry in versions if entry["id"] == wanted), None)
        if status in CALLABLE:
            return ""
        reason = "is only planned" if status == "PLANNED" else "is not offered"
        return f"Scp-Api-Version {header!r} {reason}; use one of {offered}"
