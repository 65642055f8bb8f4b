"""Change history across services, for team leads: filters, the rows they select, the weekly
counts of the chart and the CSV export."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from datetime import tzinfo as TzInfo
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from console.dataflow.history.charts import MAX_WEEKS, weekly_counts
from console.dataflow.history.export_sql import csv_records
from console.dataflow.models import IN_FLIGHT, ChangeRequest


def history_rows(filters: dict[str, Any]) -> QuerySet[ChangeRequest]:
    """Changes matching the filters, newest first."""
    rows = (
        ChangeRequest.objects.select_related("service")
        # The history shows the diff, never the full configurations: leave those in the DB.
        .defer("base_config", "desired_config", "scp_answer", "differences", "service__config")
        .order_by("-created_at", "-pk")
    )
    if filters.get("service"):
        rows = rows.filter(service=filters["service"])
    if filters.get("service_name"):
        rows = rows.filter(service__name__icontains=filters["service_name"])
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("author"):
        rows = rows.filter(author_name__icontains=filters["author"])
    if filters.get("since"):
        rows = rows.filter(created_at__date__gte=filters["since"])
    if filters.get("until"):
        rows = rows.filter(created_at__date__lte=filters["until"])
    if filters.get("q"):
        rows = rows.filter(Q(reason__icontains=filters["q"]) | Q(ticket__icontains=filters["q"]))
    return rows


# --- Changes per week ---------------------------------------------------------------------

# Stand-ins compiled into the SQL once, then swapped for each status and week (see below).
_PROBE_STATUS = "\x00status"
_PROBE_FROM = datetime(1001, 1, 1, tzinfo=UTC)
_PROBE_TO = datetime(1002, 1, 1, tzinfo=UTC)
# SQLite allows 500 SELECTs in one compound statement.
_PARTS_PER_STATEMENT = 200


def history_weekly(rows: QuerySet[ChangeRequest]) -> dict[date, Counter]:
    """The chart's counts by week and outcome, counted at most once per HISTORY_CHART_SECONDS
    for the same filters and time zone (in Django's cache); the page's rows stay live.

    At a million changes the 26 weeks the chart draws hold a quarter of a million rows, and no
    index counts those under the page's 50 ms (0.1-0.4 s on PostgreSQL).
    """
    seconds = settings.HISTORY_CHART_SECONDS
    if not seconds or rows.query.is_empty():
        return _weekly_now(rows)
    zone = timezone.get_current_timezone_name()
    key = "history-weekly:" + hashlib.sha256(f"{zone}|{rows.query}".encode()).hexdigest()
    weeks = cache.get(key)
    if weeks is None:
        weeks = _weekly_now(rows)
        cache.set(key, weeks, seconds)
    return weeks


def _weekly_now(rows: QuerySet[ChangeRequest]) -> dict[date, Counter]:
    """What `charts.weekly_counts(rows)` gives for the weeks the chart draws, found cheaply.

    The chart draws the last MAX_WEEKS weeks up to the newest change, so only those are
    counted. On SQLite, Django truncates dates with a Python function called once per row
    (0.7 s at 100,000 changes); there the counts are index range counts per status and week,
    compiled once by the ORM and run as a few plain statements. Other databases truncate
    natively and keep the one GROUP BY.
    """
    rows = rows.order_by()
    newest = rows.order_by("-created_at").values_list("created_at", flat=True).first()
    if newest is None:
        return {}
    oldest = rows.order_by("created_at").values_list("created_at", flat=True).first()
    zone = timezone.get_current_timezone()
    last, first = (timezone.localtime(moment, zone).date() for moment in (newest, oldest))
    # Mondays, as TruncWeek.
    last, first = (day - timedelta(days=day.weekday()) for day in (last, first))
    weeks = min(MAX_WEEKS, (last - first).days // 7 + 1)
    starts = [last - timedelta(weeks=n) for n in range(weeks)]
    # Local midnights, then UTC: a week across a daylight-saving change keeps its true bounds.
    edges = [
        datetime.combine(day, time.min, tzinfo=zone) for day in [last + timedelta(weeks=1), *starts]
    ]
    connection = connections[rows.db]
    if connection.vendor != "sqlite":
        return weekly_counts(rows.filter(created_at__gte=edges[-1]))
    # No lower bound for the whole window here: next to each week's own bounds, SQLite would
    # walk the index from the window's start for every week.
    return _weekly_by_ranges(rows, starts=starts, edges=edges, connection=connection)


def _weekly_by_ranges(
    rows: QuerySet[ChangeRequest], *, starts: list[date], edges: list[datetime], connection
) -> dict[date, Counter]:
    """Counts by week and outcome: week i runs from edges[i + 1] to edges[i] (newest first)."""
    probe = rows.filter(
        status=_PROBE_STATUS, created_at__gte=_PROBE_FROM, created_at__lt=_PROBE_TO
    ).values("pk")
    sql, params = probe.query.sql_with_params()
    params = list(params)
    adapt = connection.ops.adapt_datetimefield_value
    at_status = params.index(_PROBE_STATUS)
    at_from, at_to = params.index(adapt(_PROBE_FROM)), params.index(adapt(_PROBE_TO))
    parts: list[tuple[str, int]] = [
        (status, index) for status in ChangeRequest.Status.values for index in range(len(starts))
    ]
    weeks: dict[date, Counter] = {}
    with connection.cursor() as cursor:
        # One COUNT per status and week, a few hundred of them in one or two statements: every
        # part walks an index range, and nothing is sorted or grouped.
        for chunk in range(0, len(parts), _PARTS_PER_STATEMENT):
            selects, values = [], []
            for number, (status, index) in enumerate(parts[chunk : chunk + _PARTS_PER_STATEMENT]):
                params[at_status] = status
                params[at_from] = adapt(edges[index + 1])
                params[at_to] = adapt(edges[index])
                selects.append(f"SELECT {chunk + number}, COUNT(*) FROM ({sql}) AS w")  # noqa: S608
                values += params
            cursor.execute(" UNION ALL ".join(selects), values)
            for number, count in cursor.fetchall():
                if count:
                    status, index = parts[number]
                    outcome = "in_flight" if status in IN_FLIGHT else status
                    weeks.setdefault(starts[index], Counter())[outcome] += count
    return weeks


# --- CSV export ---------------------------------------------------------------------------

CSV_HEADER = [
    gettext_lazy("Change"),
    gettext_lazy("Service"),
    gettext_lazy("When"),
    gettext_lazy("Who"),
    gettext_lazy("Kind"),
    gettext_lazy("Why"),
    gettext_lazy("Ticket"),
    gettext_lazy("What changed"),
    gettext_lazy("Status"),
    gettext_lazy("SCP"),
    gettext_lazy("Global request id"),
    gettext_lazy("Took (seconds)"),
    gettext_lazy("Decision"),
    gettext_lazy("Decided by"),
    gettext_lazy("Decided at"),
    gettext_lazy("Decision comment"),
]
# Dates and JSON come as text, parsed here: Django's converters per value were half the
# export's time (see _moment for the formats).
_CSV_AS_TEXT = {
    "created_text": "created_at",
    "diff_text": "diff",
    "error_text": "error",
    "modified_text": "scp_modified_at",
    "accepted_text": "accepted_at",
    "finished_text": "finished_at",
    "decided_text": "decided_at",
}
_CSV_FIELDS = (
    "pk",
    "service__name",
    "created_text",
    "author_name",
    "kind",
    "reason",
    "ticket",
    "diff_text",
    "status",
    "error_text",
    "modified_text",
    "accepted_text",
    "finished_text",
    "decision",
    "decided_by_name",
    "decided_text",
    "decision_comment",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CSV_ROWS_PER_CHUNK = 500
_OUTSIDE = ChangeRequest.Kind.OUTSIDE.value


def _cell(value: Any) -> str:
    """A CSV cell; a spreadsheet must not run a reason that starts like a formula."""
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def history_csv_lines(rows: QuerySet[ChangeRequest], *, zone: TzInfo) -> Iterator[str]:
    """The CSV of `rows` in pieces of a few hundred lines, dates in `zone`, for streaming.

    The first piece (the header) is made on the first next(): call that while the person's
    language is active, as the labels and words are fixed then, before the rows are read after
    the view returned. Rows come as tuples in chunks (no model instance, no lazy label per
    row), so memory stays flat whatever the number of rows.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    words = CsvWords(zone)
    # The byte order mark makes Excel read the file as UTF-8 (Korean reasons and names).
    writer.writerow([str(label) for label in CSV_HEADER])
    yield "\ufeff" + _taken(buffer)
    for records in csv_batches(rows, words=words):
        for start in range(0, len(records), _CSV_ROWS_PER_CHUNK):
            writer.writerows(records[start : start + _CSV_ROWS_PER_CHUNK])
            yield _taken(buffer)


def csv_batches(
    rows: QuerySet[ChangeRequest], *, words: CsvWords, in_database: bool | None = None
) -> Iterator[list[tuple]]:
    """The CSV's rows of `rows`, a few thousand at a time: made by PostgreSQL when it can
    (`in_database` None), else cell by cell here."""
    zone_name = getattr(words.zone, "key", None)
    if in_database is None:
        in_database = connections[rows.db].vendor == "postgresql" and bool(zone_name)
    if in_database:
        yield from csv_records(rows, zone_name=zone_name, words=words)
        return
    values = (
        rows.order_by("-created_at", "-pk")
        .annotate(**{name: Cast(field, TextField()) for name, field in _CSV_AS_TEXT.items()})
        .values_list(*_CSV_FIELDS)
    )
    records = iter(values.iterator(chunk_size=2000))
    while batch := [_csv_row(record, words) for record in itertools.islice(records, 2000)]:
        yield batch


class CsvWords:
    """The labels and words of one export, fixed in the language active when it is made."""

    def __init__(self, zone: TzInfo) -> None:
        self.zone = zone
        self.statuses = {value: str(label) for value, label in ChangeRequest.Status.choices}
        self.kinds = {value: str(label) for value, label in ChangeRequest.Kind.choices}
        self.words = {
            "changed": gettext("changed"),
            "host alias": gettext("host alias"),
            "accepted": gettext("202 Accepted"),
            "modified": gettext("modified"),
        }
        self.decisions = {"approved": gettext("Approved"), "rejected": gettext("Rejected")}


def _csv_row(record: tuple, words: CsvWords) -> tuple:
    """One change's CSV cells, from its `_CSV_FIELDS` values."""
    (
        pk,
        service_name,
        created_text,
        author_name,
        kind,
        reason,
        ticket,
        diff_text,
        status,
        error_text,
        modified_text,
        accepted_text,
        finished_text,
        *decision,
    ) = record
    error = (json.loads(error_text) if error_text else None) or {}
    created_at = _moment(created_text)
    is_outside = kind == _OUTSIDE
    diff = (json.loads(diff_text) if diff_text else None) or ()
    return (
        pk,  # digits, and the time below, never start like a formula
        _cell(service_name),
        _when(created_at, words.zone),
        _cell(author_name),
        words.kinds.get(kind, kind),
        _cell(reason),
        _cell(ticket),
        _cell("; ".join(_entry_text(entry, words.words) for entry in diff)),
        words.statuses.get(status, status),
        _cell(_scp_text(error, is_outside, modified_text, accepted_text, words)),
        _cell(error.get("global_request_id", "")),
        _cell(_took(created_at, finished_text) if finished_text and not is_outside else ""),
        *_decision_cells(*decision, words),
    )


def _decision_cells(
    decision: str, by: str, at_text: str | None, comment: str, words: CsvWords
) -> tuple[str, str, str, str]:
    """Four eyes: approved or rejected, by whom, when and why; empty cells without a decision."""
    if not decision:
        return ("", "", "", "")
    when = _when(at_text, words.zone) if at_text else ""
    return (words.decisions.get(decision, decision), _cell(by), when, _cell(comment))


def _scp_text(
    error: dict, is_outside: bool, modified_text: str, accepted_text: str, words: CsvWords
) -> str:
    """What SCP said: its error code, when it modified the service (outside the console), or
    that it accepted the change."""
    if error.get("code"):
        return str(error["code"])
    if is_outside:
        if not modified_text:
            return "—"
        return f"{words.words['modified']} {_when(modified_text, words.zone)}"
    return words.words["accepted"] if accepted_text else "—"


def _took(created_at: datetime, finished_text: str) -> int:
    """Whole seconds from the change's start to its end, never rounded up."""
    return int((_moment(finished_text) - created_at).total_seconds())


def _moment(value: str | datetime) -> datetime:
    """A date from the database as text: "2026-11-29 20:31:05.123456" in UTC (SQLite) or with
    its offset, "+00" (PostgreSQL)."""
    # Guess: a backend may answer a date even when asked for text; take it as it is.
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(value: str | datetime, zone: TzInfo) -> str:
    """when_text(value, seconds=True, zone=zone), without its checks (a hundred thousand rows)."""
    local = (value if isinstance(value, datetime) else _moment(value)).astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or local.strftime('%z')}"


def _taken(buffer: io.StringIO) -> str:
    """What the buffer holds, leaving it empty."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _entry_text(entry: dict, words: dict[str, str]) -> str:
    """One diff entry in words, as the history page shows it (a secret only as "changed")."""
    if entry.get("secret"):
        return f"{entry['label']}: {words['changed']}"
    if entry.get("section") == "Host aliases":
        return f"{words['host alias']} {entry['label']} {entry['kind']}"
    return f"{entry['label']}: {entry['before_display']} → {entry['after_display']}"
