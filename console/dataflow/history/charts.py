"""Server-rendered charts: the geometry of small SVGs the templates draw, and their table twins.

No script and no inline style (the Content-Security-Policy forbids both): the templates use SVG
presentation attributes and the classes of console.css. Every chart also gives the rows of a
table for screen readers and a sentence for its accessible name.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncWeek
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from console.dataflow.changes.configdiff import COMPONENT_LABELS
from console.dataflow.models import IN_FLIGHT, ChangeRequest, ConfigRevision
from console.dataflow.people.timezones import when_text

MAX_REVISIONS = 30
MAX_WEEKS = 26
# (attribute, panel title, unit, factor): values are drawn as people read them.
METRICS = [
    ("cpu", gettext_lazy("CPU"), "vCPU", 1000),
    ("memory", gettext_lazy("Memory"), "GiB", 1024),
    ("replica", gettext_lazy("Replicas"), "", 1),
]
# Column names of the chart's table twin: component and metric in one phrase each.
HEADERS = {
    ("nifi", "cpu"): gettext_lazy("NiFi cpu"),
    ("nifi", "memory"): gettext_lazy("NiFi memory"),
    ("nifi", "replica"): gettext_lazy("NiFi replicas"),
    ("nifi_registry", "cpu"): gettext_lazy("NiFi Registry cpu"),
    ("nifi_registry", "memory"): gettext_lazy("NiFi Registry memory"),
    ("nifi_registry", "replica"): gettext_lazy("NiFi Registry replicas"),
    ("zookeeper", "cpu"): gettext_lazy("ZooKeeper cpu"),
    ("zookeeper", "memory"): gettext_lazy("ZooKeeper memory"),
    ("zookeeper", "replica"): gettext_lazy("ZooKeeper replicas"),
}
# Each panel's title sits in the space above it (TOP, GAP), clear of a line at the highest value.
WIDTH, LEFT, RIGHT, TOP = 760, 64, 16, 24
PANEL, GAP, AXIS = 92, 34, 36


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def service_chart(revisions: list[ConfigRevision]) -> dict[str, Any] | None:
    """CPU, memory and replicas per component, one step per revision, changes marked.

    `revisions` oldest first. None when there is nothing to draw (no revision on record).
    """
    revisions = revisions[-MAX_REVISIONS:]
    if not revisions:
        return None
    step = (WIDTH - LEFT - RIGHT) / len(revisions)
    bottom = TOP + len(METRICS) * (PANEL + GAP) - GAP
    marks = _marks(revisions, step)
    return {
        "width": WIDTH,
        "height": bottom + AXIS,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "chart_top": TOP,
        "chart_bottom": bottom,
        "axis_y": bottom + 16,
        "panels": [
            _panel(revisions, number=number, metric=metric, step=step)
            for number, metric in enumerate(METRICS)
        ],
        "columns": _columns(revisions, step),
        "marks": marks,
        "label": _service_chart_label(revisions, marks),
        "rows": [_revision_row(rev) for rev in revisions],
    }


def _x_at(index: int, step: float) -> float:
    """Where revision `index` begins on the horizontal axis."""
    return LEFT + step * index


def _panel(
    revisions: list[ConfigRevision], *, number: int, metric: tuple, step: float
) -> dict[str, Any]:
    """One metric's panel: a line per component, ticks at zero, half and the highest value."""
    attr, title, unit, factor = metric
    top = TOP + number * (PANEL + GAP)
    values = {
        component: [_value(rev.config, component, attr, factor) for rev in revisions]
        for component in COMPONENT_LABELS
    }
    highest = max((v for vs in values.values() for v in vs if v is not None), default=0)
    ceiling = highest * 1.15 or 1

    def y_at(value: float) -> float:
        return round(top + PANEL - PANEL * value / ceiling, 1)

    return {
        "title": f"{title} ({unit})" if unit else str(title),
        "top": top,
        "bottom": top + PANEL,
        "title_y": top - 8,
        "ticks": _ticks(highest, y_at),
        "lines": [
            {
                "component": component,
                "label": label,
                "segments": _segments(values[component], step, y_at),
            }
            for component, label in COMPONENT_LABELS.items()
        ],
    }


def _ticks(highest: float, y_at: Callable[[float], float]) -> list[dict[str, Any]]:
    """Ticks at zero, half the highest value and the highest (only zero when all are zero)."""
    return [
        {"y": y_at(tick), "label": _fmt(tick)}
        for tick in (0, highest / 2, highest)
        if highest or tick == 0
    ]


def _segments(values: list[float | None], step: float, y_at: Callable[[float], float]) -> list[str]:
    """A step line's polylines: a value holds across its revision; a gap where none is known."""
    segments, points = [], []
    for index, value in enumerate(values):
        if value is None:
            if points:
                segments.append(" ".join(points))
            points = []
            continue
        y = y_at(value)
        points += [f"{_x_at(index, step):.1f},{y}", f"{_x_at(index + 1, step):.1f},{y}"]
    if points:
        segments.append(" ".join(points))
    return segments


def _columns(revisions: list[ConfigRevision], step: float) -> list[dict[str, Any]]:
    """A column per revision, its label shown for about eight of them and the last."""
    count = len(revisions)
    label_every = max(1, count // 8)
    return [
        {
            "x": round(_x_at(index, step) + step / 2, 1),
            "label": f"r{rev.revision}",
            "show_label": index % label_every == 0 or index == count - 1,
        }
        for index, rev in enumerate(revisions)
    ]


def _marks(revisions: list[ConfigRevision], step: float) -> list[dict[str, Any]]:
    """A mark where a change (of the console or outside it) began a revision after the first."""
    marks = []
    for index, rev in enumerate(revisions):
        change = rev.change
        if change is None or index == 0:
            continue
        marks.append(
            {
                "x": round(_x_at(index, step), 1),
                "kind": "outside" if change.is_outside else "console",
                "title": f"r{rev.revision}: {_source(change, change.author_name)}",
            }
        )
    return marks


def _service_chart_label(revisions: list[ConfigRevision], marks: list[dict[str, Any]]) -> str:
    """The chart's accessible name: its span and how many changes of each kind it marks."""
    count = len(revisions)
    console = sum(1 for mark in marks if mark["kind"] == "console")
    outside = sum(1 for mark in marks if mark["kind"] == "outside")
    # Three counts in one sentence: each counted phrase takes its own plural form.
    return _(
        "CPU, memory and replicas of NiFi, NiFi Registry and ZooKeeper over %(revisions)s, "
        "r%(first)s to r%(last)s (%(since)s to %(until)s); %(console)s and %(outside)s "
        "marked."
    ) % {
        "revisions": ngettext("%(n)d revision", "%(n)d revisions", count) % {"n": count},
        "first": revisions[0].revision,
        "last": revisions[-1].revision,
        "since": when_text(revisions[0].observed_at),
        "until": when_text(revisions[-1].observed_at),
        "console": ngettext("%(n)d console change", "%(n)d console changes", console)
        % {"n": console},
        "outside": ngettext(
            "%(n)d change outside the console", "%(n)d changes outside the console", outside
        )
        % {"n": outside},
    }


def _value(config: dict[str, Any], component: str, attr: str, factor: int) -> float | None:
    workload = ((config or {}).get("workloads") or {}).get(component) or {}
    try:
        return int(workload.get(attr)) / factor
    except (TypeError, ValueError):
        return None


def _revision_row(rev: ConfigRevision) -> dict[str, Any]:
    change = rev.change
    if change is None:
        source = _("first import") if rev.revision == 1 else _("refresh from SCP")
    else:
        source = _source(change, change.author_name)
    cells = []
    for component in COMPONENT_LABELS:
        for attr, _title, unit, factor in METRICS:
            value = _value(rev.config, component, attr, factor)
            cells.append("—" if value is None else f"{_fmt(value)} {unit}".strip())
    return {
        "revision": rev.revision,
        "when": when_text(rev.observed_at),
        "source": source,
        "cells": cells,
    }


def _source(change: ChangeRequest, who: str) -> str:
    """What made a revision: a change of the console by whom, or a change outside it."""
    if change.is_outside:
        if change.scp_modified_by:
            return _("changed outside the console by %(name)s") % {"name": change.scp_modified_by}
        return _("changed outside the console")
    return _("change #%(number)s by %(name)s") % {"number": change.pk, "name": who}


def service_chart_headers() -> list[str]:
    """Column names of the service chart's table twin, after revision, time and source."""
    return [
        str(HEADERS[component, attr])
        for component in COMPONENT_LABELS
        for attr, _title, _unit, _factor in METRICS
    ]


# --- Changes per week ---------------------------------------------------------------------

OUTCOMES = [
    ("succeeded", gettext_lazy("Succeeded")),
    ("different", gettext_lazy("Applied with differences")),
    ("failed", gettext_lazy("Failed")),
    ("cancelled", gettext_lazy("Cancelled")),
    ("rejected", gettext_lazy("Rejected")),
    ("outside", gettext_lazy("Changed outside the console")),
    ("in_flight", gettext_lazy("In flight")),
]
BARS_HEIGHT, BARS_TOP, BARS_LEFT = 160, 10, 40


def weekly_counts(rows: QuerySet[ChangeRequest]) -> dict[date, Counter]:
    """How many of `rows` began in each week (Monday, in the active time zone), by outcome."""
    weeks: dict[date, Counter] = {}
    grouped = (
        rows.order_by()
        .annotate(week=TruncWeek("created_at"))
        .values("week", "status")
        .annotate(n=Count("pk"))
    )
    for row in grouped:
        start = row["week"]
        start = start.date() if isinstance(start, datetime) else start
        outcome = "in_flight" if row["status"] in IN_FLIGHT else row["status"]
        weeks.setdefault(start, Counter())[outcome] += row["n"]
    return weeks


def weekly_chart_html(weeks: dict[date, Counter]) -> SafeString:
    """The weekly chart drawn (its SVG and table twin), "" without changes.

    Drawn once per HISTORY_CHART_SECONDS for the same counts and language, like the counts:
    its 26 bars and table rows were half of the history page's time in the template engine.
    """
    seconds = settings.HISTORY_CHART_SECONDS
    key = ""
    if seconds:
        counts = sorted((start.isoformat(), sorted(c.items())) for start, c in weeks.items())
        facts = f"{translation.get_language()}|{counts}"
        key = "weekly-chart:" + hashlib.sha256(facts.encode()).hexdigest()
        drawn = cache.get(key)
        if drawn is not None:
            return mark_safe(drawn)  # noqa: S308 - drawn by the template below, escaped there
    chart = weekly_chart(weeks)
    drawn = ""
    if chart:
        drawn = render_to_string("dataflow/partials/weekly_chart.html", {"weekly": chart})
    if key:
        cache.set(key, drawn, seconds)
    return drawn


def weekly_chart(weeks: dict[date, Counter]) -> dict[str, Any] | None:
    """Stacked bars of changes per week by outcome, every week of the span shown; None if empty."""
    if not weeks:
        return None
    starts = _week_starts(weeks)
    totals = [sum(weeks.get(start, Counter()).values()) for start in starts]
    highest = max(totals) or 1
    slot = (WIDTH - BARS_LEFT - RIGHT) / len(starts)
    label_every = max(1, len(starts) // 10)
    bars = [
        _bar(
            start,
            weeks.get(start, Counter()),
            x=BARS_LEFT + slot * index,
            slot=slot,
            highest=highest,
            show_label=index % label_every == 0 or index == len(starts) - 1,
        )
        for index, start in enumerate(starts)
    ]
    rows = [
        {
            "week": f"{start:%Y-%m-%d}",
            "counts": [weeks.get(start, Counter()).get(outcome, 0) for outcome, _label in OUTCOMES],
            "total": total,
        }
        for start, total in zip(starts, totals, strict=True)
    ]
    return {
        "width": WIDTH,
        "height": BARS_TOP + BARS_HEIGHT + 30,
        "left": BARS_LEFT,
        "right": WIDTH - RIGHT,
        "baseline": BARS_TOP + BARS_HEIGHT,
        "top": BARS_TOP,
        "axis_y": BARS_TOP + BARS_HEIGHT + 16,
        "highest": highest,
        "bars": bars,
        "rows": rows,
        "outcomes": OUTCOMES,
        "label": _weekly_label(starts, total=sum(totals), highest=highest),
    }


def _week_starts(weeks: dict[date, Counter]) -> list[date]:
    """Every Monday from the first week shown (at most MAX_WEEKS back) to the newest one."""
    last = max(weeks)
    day = max(min(weeks), last - timedelta(weeks=MAX_WEEKS - 1))
    starts = []
    while day <= last:
        starts.append(day)
        day += timedelta(weeks=1)
    return starts


def _bar(
    start: date, counts: Counter, *, x: float, slot: float, highest: int, show_label: bool
) -> dict[str, Any]:
    """One week's bar in its slot (beginning at `x`): a part per outcome, stacked upwards."""
    bar = max(4.0, min(40.0, slot * 0.7))
    left = x + (slot - bar) / 2
    return {
        "x": round(left, 1),
        "width": round(bar, 1),
        "centre": round(left + bar / 2, 1),
        "parts": _bar_parts(start, counts, highest=highest),
        "label": f"{start:%m-%d}",
        "show_label": show_label,
    }


def _bar_parts(start: date, counts: Counter, *, highest: int) -> list[dict[str, Any]]:
    """The outcomes of one week with any change, each a part of the bar above the previous."""
    base = BARS_TOP + BARS_HEIGHT
    parts = []
    for outcome, label in OUTCOMES:
        n = counts.get(outcome, 0)
        if not n:
            continue
        height = BARS_HEIGHT * n / highest
        base -= height
        parts.append(
            {
                "outcome": outcome,
                "y": round(base, 1),
                "height": round(height, 1),
                "title": _("Week of %(week)s: %(count)s %(outcome)s")
                % {"week": f"{start:%Y-%m-%d}", "count": n, "outcome": str(label).lower()},
            }
        )
    return parts


def _weekly_label(starts: list[date], *, total: int, highest: int) -> str:
    """The chart's accessible name: its weeks, how many changes, the most in one week."""
    return _(
        "Changes per week by outcome, %(weeks)s from the week of %(first)s to the week of "
        "%(last)s: %(total)s, at most %(highest)d in one week."
    ) % {
        "weeks": ngettext("%(n)d week", "%(n)d weeks", len(starts)) % {"n": len(starts)},
        "first": f"{starts[0]:%Y-%m-%d}",
        "last": f"{starts[-1]:%Y-%m-%d}",
        "total": ngettext("%(n)d change", "%(n)d changes", total) % {"n": total},
        "highest": highest,
    }
