"""Server-rendered charts: the geometry of small SVGs the templates draw, and their table twins.

No script and no inline style (the Content-Security-Policy forbids both): the templates use SVG
presentation attributes and the classes of console.css. Every chart also gives the rows of a
table for screen readers and a sentence for its accessible name.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncWeek
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
WIDTH, LEFT, RIGHT, TOP = 760, 64, 16, 8
PANEL, GAP, AXIS = 92, 26, 36


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def service_chart(revisions: list[ConfigRevision]) -> dict[str, Any] | None:
    """CPU, memory and replicas per component, one step per revision, changes marked.

    `revisions` oldest first. None when there is nothing to draw (no revision on record).
    """
    revisions = revisions[-MAX_REVISIONS:]
    if not revisions:
        return None
    count = len(revisions)
    span = WIDTH - LEFT - RIGHT
    step = span / count

    def x_at(index: int) -> float:
        return LEFT + step * index

    panels = []
    for number, (attr, title, unit, factor) in enumerate(METRICS):
        top = TOP + number * (PANEL + GAP)
        values = {
            component: [_value(rev.config, component, attr, factor) for rev in revisions]
            for component in COMPONENT_LABELS
        }
        highest = max((v for vs in values.values() for v in vs if v is not None), default=0)
        ceiling = highest * 1.15 or 1

        def y_at(value: float, top: float = top, ceiling: float = ceiling) -> float:
            return round(top + PANEL - PANEL * value / ceiling, 1)

        lines = []
        for component, label in COMPONENT_LABELS.items():
            segments, points = [], []
            for index, value in enumerate(values[component]):
                if value is None:
                    if points:
                        segments.append(" ".join(points))
                    points = []
                    continue
                y = y_at(value)
                points += [f"{x_at(index):.1f},{y}", f"{x_at(index + 1):.1f},{y}"]
            if points:
                segments.append(" ".join(points))
            lines.append({"component": component, "label": label, "segments": segments})
        panels.append(
            {
                "title": f"{title} ({unit})" if unit else str(title),
                "top": top,
                "bottom": top + PANEL,
                "title_y": top + 10,
                "ticks": [
                    {"y": y_at(tick), "label": _fmt(tick)}
                    for tick in (0, highest / 2, highest)
                    if highest or tick == 0
                ],
                "lines": lines,
            }
        )
    bottom = TOP + len(METRICS) * (PANEL + GAP) - GAP
    columns, marks = [], []
    label_every = max(1, count // 8)
    for index, rev in enumerate(revisions):
        centre = x_at(index) + step / 2
        change = rev.change
        kind = "import" if change is None else "outside" if change.is_outside else "console"
        columns.append(
            {
                "x": round(centre, 1),
                "label": f"r{rev.revision}",
                "show_label": index % label_every == 0 or index == count - 1,
            }
        )
        if change is not None and index > 0:
            who = change.author_name
            marks.append(
                {
                    "x": round(x_at(index), 1),
                    "kind": kind,
                    "title": f"r{rev.revision}: {_source(change, who)}",
                }
            )
    console = sum(1 for mark in marks if mark["kind"] == "console")
    outside = sum(1 for mark in marks if mark["kind"] == "outside")
    return {
        "width": WIDTH,
        "height": bottom + AXIS,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "chart_top": TOP,
        "chart_bottom": bottom,
        "axis_y": bottom + 16,
        "panels": panels,
        "columns": columns,
        "marks": marks,
        # Three counts in one sentence: each counted phrase takes its own plural form.
        "label": _(
            "CPU, memory and replicas of NiFi, NiFi Registry and ZooKeeper over %(revisions)s, "
            "r%(first)s to r%(last)s (%(since)s to %(until)s); %(console)s and %(outside)s "
            "marked."
        )
        % {
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
        },
        "rows": [_revision_row(rev) for rev in revisions],
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


def weekly_chart(weeks: dict[date, Counter]) -> dict[str, Any] | None:
    """Stacked bars of changes per week by outcome, every week of the span shown; None if empty."""
    if not weeks:
        return None
    last = max(weeks)
    first = max(min(weeks), last - timedelta(weeks=MAX_WEEKS - 1))
    starts = []
    day = first
    while day <= last:
        starts.append(day)
        day += timedelta(weeks=1)
    totals = [sum(weeks.get(start, Counter()).values()) for start in starts]
    highest = max(totals) or 1
    slot = (WIDTH - BARS_LEFT - RIGHT) / len(starts)
    bar = max(4.0, min(40.0, slot * 0.7))
    label_every = max(1, len(starts) // 10)
    bars, rows = [], []
    for index, start in enumerate(starts):
        counts = weeks.get(start, Counter())
        x = BARS_LEFT + slot * index + (slot - bar) / 2
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
        bars.append(
            {
                "x": round(x, 1),
                "width": round(bar, 1),
                "centre": round(x + bar / 2, 1),
                "parts": parts,
                "label": f"{start:%m-%d}",
                "show_label": index % label_every == 0 or index == len(starts) - 1,
            }
        )
        rows.append(
            {
                "week": f"{start:%Y-%m-%d}",
                "counts": [counts.get(outcome, 0) for outcome, _label in OUTCOMES],
                "total": totals[index],
            }
        )
    total = sum(totals)
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
        "label": _(
            "Changes per week by outcome, %(weeks)s from the week of %(first)s to the week of "
            "%(last)s: %(total)s, at most %(highest)d in one week."
        )
        % {
            "weeks": ngettext("%(n)d week", "%(n)d weeks", len(starts)) % {"n": len(starts)},
            "first": f"{first:%Y-%m-%d}",
            "last": f"{last:%Y-%m-%d}",
            "total": ngettext("%(n)d change", "%(n)d changes", total) % {"n": total},
            "highest": highest,
        },
    }
