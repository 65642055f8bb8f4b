"""SCP's API version list (`GET {endpoint}/`): typed entries and what it says of one version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from console.scp.errors import ScpBadResponse

PRODUCT = "data-flow"

CURRENT = "CURRENT"
SUPPORTED = "SUPPORTED"
PLANNED = "PLANNED"
DEPRECATED = "DEPRECATED"

# Samsung's SDK warns when a version's last supported day is 60 to 90 days away, whatever its
# status; the console warns from 90 days on.
SUPPORT_WARNING_DAYS = 90

_VERSION_NUMBER = re.compile(r"^v?(\d+(?:\.\d+)*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One entry of the version list: `v1.1` is sent as the header value `data-flow 1.1`."""

    id: str
    header_value: str
    status: str
    # SCP's `not_before`: the last day SCP supports this version, for every status (SCP's common
    # guide; Samsung's SDK calls it the "Until Supported date"). None when SCP gives no date.
    last_day: date | None

    def days_left(self, today: date) -> int | None:
        """Days from `today` to the last supported day (0 on it, negative once it has passed)."""
        return days_until(self.last_day, today)


@dataclass(frozen=True, slots=True)
class VersionStanding:
    """What the version list says of one header value: its entry (None: not listed) and CURRENT."""

    entry: ApiVersion | None
    current: ApiVersion | None

    @property
    def status(self) -> str | None:
        """CURRENT, SUPPORTED, PLANNED, DEPRECATED (or another word SCP uses); None: not listed."""
        return self.entry.status if self.entry is not None else None


def days_until(last_day: date | None, today: date) -> int | None:
    """Days from `today` to `last_day` (negative once it has passed); None without a date."""
    return None if last_day is None else (last_day - today).days


def header_value_for(version_id: str, *, product: str = PRODUCT) -> str:
    """The `Scp-Api-Version` value of a version id: `v1.1` -> `data-flow 1.1`."""
    text = " ".join(str(version_id).split())
    match = _VERSION_NUMBER.match(text)
    if match:
        return f"{product} {match.group(1)}"
    # An id that already reads like a header value (`data-flow 1.1`) is kept as it is.
    return text


def parse_api_versions(data: Any, *, product: str = PRODUCT) -> tuple[ApiVersion, ...]:
    """The version list; raises ScpBadResponse when the body holds no readable entry."""
    if not isinstance(data, dict):
        raise ScpBadResponse(
            f"SCP answered the version list with {type(data).__name__} instead of a JSON "
            "object: try again later."
        )
    items = _version_items(data)
    versions = tuple(
        version
        for version in (_parse_entry(item, product=product) for item in items)
        if version is not None
    )
    if not versions:
        raise ScpBadResponse(
            "SCP answered the version list without any version it names: try again later."
        )
    return versions


def _version_items(data: dict[str, Any]) -> list[Any]:
    """The raw entries of the version list, in whichever shape the root sent them."""
    items = data.get("versions")
    if isinstance(items, dict) and isinstance(items.get("values"), list):
        # Guess: some version lists nest the entries one level deeper ({"versions": {"values"}}).
        items = items["values"]
    if items is None and isinstance(data.get("version"), dict):
        # Guess: a root that serves one version may answer {"version": {...}}.
        items = [data["version"]]
    if not isinstance(items, list):
        raise ScpBadResponse(
            "SCP answered the version list without a 'versions' list: try again later."
        )
    return items


def version_standing(
    versions: tuple[ApiVersion, ...] | list[ApiVersion], header_value: str
) -> VersionStanding:
    """Where `header_value` stands in the list, and the CURRENT entry (compared loosely)."""
    wanted = _normal(header_value)
    entry = next((v for v in versions if _normal(v.header_value) == wanted), None)
    current = next((v for v in versions if v.status == CURRENT), None)
    return VersionStanding(entry=entry, current=current)


def _parse_entry(item: Any, *, product: str) -> ApiVersion | None:
    """One entry of the list; None for anything that is not an object with an id."""
    if not isinstance(item, dict):
        return None
    version_id = _text(item.get("id"))
    if not version_id:
        return None
    return ApiVersion(
        id=version_id,
        header_value=header_value_for(version_id, product=product),
        status=_text(item.get("status")).upper(),
        last_day=_date(item.get("not_before")),
    )


def _normal(header_value: str) -> str:
    return " ".join(str(header_value).lower().split())


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()


def _date(value: Any) -> date | None:
    """A date from `2027-01-31` or an ISO timestamp; None for anything else."""
    text = _text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None
