"""Small display helpers for the console's templates."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template
from django.utils.translation import gettext as _

from console.dataflow.changes.configdiff import SWITCHES, cpu_display, memory_display
from console.dataflow.people.timezones import when_text
from console.dataflow.words.events import said_text

register = template.Library()

STATE_COLOURS = {
    "RUNNING": "success",
    "ACTIVE": "success",
    "ERROR": "danger",
    "UPDATING": "info",
    "EDITING": "info",
    "CREATING": "info",
    "STARTING": "info",
    "RESTARTING": "info",
    "STOPPING": "warning",
    "STOPPED": "secondary",
    "TERMINATING": "warning",
    "DELETING": "warning",
}
STATUS_COLOURS = {
    "awaiting_approval": "warning",
    "scheduled": "info",
    "rejected": "dark",
    "running": "primary",
    "stopped": "danger",
    "waiting": "secondary",
    "starting": "info",
    "skipped": "light",
    "queued": "secondary",
    "submitting": "info",
    "accepted": "info",
    "updating": "primary",
    "succeeded": "success",
    "different": "warning",
    "failed": "danger",
    "cancelled": "secondary",
    "outside": "dark",
}
# Each value needs its .progress-at-N class in console.css (no inline style under the CSP).
STATUS_PROGRESS = {
    "awaiting_approval": 10,
    "scheduled": 10,
    "queued": 10,
    "submitting": 25,
    "accepted": 45,
    "updating": 70,
}


@register.filter
def state_colour(state: str) -> str:
    """Bootstrap colour of an SCP service state (compared case-insensitively)."""
    return STATE_COLOURS.get((state or "").upper(), "secondary")


@register.filter
def status_colour(status: str) -> str:
    """Bootstrap colour of a change status."""
    return STATUS_COLOURS.get(status or "", "secondary")


@register.filter
def status_progress(status: str) -> int:
    """How far along the pipeline a change is, for the progress bar."""
    return STATUS_PROGRESS.get(status or "", 100)


@register.filter
def shown(entry: dict, side: str) -> str:
    """A diff entry's value before or after, as shown: a switch's "on"/"off" translated."""
    value = str(entry.get(f"{side}_display", ""))
    return _(value) if entry.get("field") in SWITCHES and value else value


@register.filter
def vcpu(millicores) -> str:
    return cpu_display(millicores)


@register.filter
def gib(mib) -> str:
    return memory_display(mib)


@register.filter
def get_item(mapping: dict, key):
    """mapping[key] in a template, or "" when missing."""
    return (mapping or {}).get(key, "")


@register.filter
def field(form, name: str):
    """form[name] in a template, for fields whose names are built from parts."""
    return form[name]


@register.filter
def duration(value) -> str:
    """A timedelta as "1 min 5 s" / "12 s"."""
    seconds = int(value.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    return _("%(seconds)d s") % {"seconds": seconds}


@register.filter
def safe_link(url) -> str:
    """The URL when it is http(s), else "": a link from SCP never runs script (`javascript:`)."""
    text = str(url or "").strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return ""
    return text if scheme in {"http", "https"} and "//" in text else ""


@register.filter
def when(value, arg: str = "") -> str:
    """The one date format of the console, in the person's time zone: "2026-11-29 20:31 KST".

    `|when:"s"` adds the seconds (timelines, attempts).
    """
    return when_text(value, seconds=arg == "s")


@register.simple_tag
def time_zone_name() -> str:
    """The active time zone's name, for the navigation's link to the preferences."""
    from django.utils import timezone

    return timezone.get_current_timezone_name()


@register.filter
def in_words(record) -> str:
    """A stored verdict or note in the reader's language: its `said` facts, else its `message`
    (a row stored before the facts were)."""
    if not isinstance(record, dict):
        return ""
    return said_text(record.get("said")) if record.get("said") else str(record.get("message", ""))
