"""The history's CSV cells made by PostgreSQL: what `queries._csv_row` makes in Python, as SQL.

At a million changes Python's work per row (JSON, dates, labels, formula guards: about 15 µs)
held the export near 50,000 rows a second; PostgreSQL makes the same cells in the query, and
Python only writes the rows it receives. The words and labels come in as parameters, in the
language of the export; dates are written in the person's zone with its abbreviation, as
`queries._when` writes them. tests/dataflow/history/test_history_export_sql.py holds both
ways to the same file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import connections, transaction
from django.db.models import F, QuerySet

from console.dataflow.models import ChangeRequest

if TYPE_CHECKING:
    from console.dataflow.history.queries import CsvWords

ROWS_PER_FETCH = 2000
# Inner column aliases: the ORM's filtered query, selecting these under these names.
_INNER = {
    "c_id": "pk",
    "c_service": "service__name",
    "c_created": "created_at",
    "c_author": "author_name",
    "c_kind": "kind",
    "c_reason": "reason",
    "c_ticket": "ticket",
    "c_diff": "diff",
    "c_status": "status",
    "c_error": "error",
    "c_modified": "scp_modified_at",
    "c_accepted": "accepted_at",
    "c_finished": "finished_at",
    "c_decision": "decision",
    "c_by": "decided_by_name",
    "c_decided": "decided_at",
    "c_comment": "decision_comment",
}


def _cell(sql: str) -> str:
    """queries._cell: a quote before text that starts like a spreadsheet formula."""
    return (
        f"CASE WHEN left({sql}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
        f"THEN '''' || {sql} ELSE {sql} END"
    )


def _when(sql: str) -> str:
    """queries._when: the moment in the session's zone (set per export), with its abbreviation."""
    return f"to_char({sql}, 'YYYY-MM-DD HH24:MI:SS TZ')"


def _label(sql: str, labels: dict[str, str], params: list[Any]) -> str:
    """A stored value's label (the value itself when it has none)."""
    cases = []
    for value, label in labels.items():
        cases.append("WHEN %s THEN %s")
        params += [value, label]
    return f"CASE {sql} {' '.join(cases)} ELSE {sql} END"


def _diff(params: list[Any], words: dict[str, str]) -> str:
    """queries._entry_text of each entry, joined by "; " in the diff's order."""
    params += [words["changed"], words["host alias"]]
    return (
        "COALESCE((SELECT string_agg(CASE"
        " WHEN COALESCE(e->>'secret', 'false') NOT IN ('false', '', '0')"
        "  THEN concat(e->>'label', ': ', %s::text)"
        " WHEN e->>'section' = 'Host aliases'"
        "  THEN concat(%s::text, ' ', e->>'label', ' ', e->>'kind')"
        " ELSE concat(e->>'label', ': ', e->>'before_display', ' → ', e->>'after_display')"
        " END, '; ' ORDER BY n)"
        " FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.c_diff) = 'array'"
        "  THEN r.c_diff ELSE '[]'::jsonb END) WITH ORDINALITY AS x(e, n)), '')"
    )


def _scp(params: list[Any], words: dict[str, str]) -> str:
    """queries._scp_text: SCP's error code, when SCP modified the service, or its 202."""
    params += [words["modified"], words["accepted"]]
    return (
        "CASE WHEN COALESCE(r.c_error->>'code', '') <> '' THEN r.c_error->>'code'"
        " WHEN r.c_kind = 'outside' THEN CASE WHEN r.c_modified IS NULL THEN '—'"
        f"  ELSE concat(%s::text, ' ', {_when('r.c_modified')}) END"
        " WHEN r.c_accepted IS NOT NULL THEN %s::text ELSE '—' END"
    )


def _statement(rows: QuerySet[ChangeRequest], words: CsvWords) -> tuple[str, list[Any]]:
    """The SELECT of the CSV's cells, in `_CSV_FIELDS`' order, newest first."""
    inner = rows.order_by().values(**{alias: F(field) for alias, field in _INNER.items()})
    inner_sql, inner_params = inner.query.sql_with_params()
    params: list[Any] = []
    # Worked out once per row, then guarded as cells (the guard names its text three times;
    # OFFSET 0 keeps PostgreSQL from folding the texts back into each mention).
    text_params: list[Any] = []
    texts = f"{_diff(text_params, words.words)} AS diff_text, "
    texts += f"{_scp(text_params, words.words)} AS scp_text"
    took = "trunc(extract(epoch FROM r.c_finished - r.c_created))::bigint::text"
    decided = "r.c_decision <> ''"
    cells = [
        "r.c_id",
        _cell("r.c_service"),
        _when("r.c_created"),
        _cell("r.c_author"),
        _label("r.c_kind", words.kinds, params),
        _cell("r.c_reason"),
        _cell("r.c_ticket"),
        _cell("t.diff_text"),
        _label("r.c_status", words.statuses, params),
        _cell("t.scp_text"),
        _cell("COALESCE(r.c_error->>'global_request_id', '')"),
        f"CASE WHEN r.c_finished IS NOT NULL AND r.c_kind <> 'outside' THEN {_cell(took)}"
        " ELSE '' END",
        f"CASE WHEN {decided} THEN {_label('r.c_decision', words.decisions, params)} ELSE '' END",
        f"CASE WHEN {decided} THEN {_cell('r.c_by')} ELSE '' END",
        f"CASE WHEN {decided} AND r.c_decided IS NOT NULL THEN {_when('r.c_decided')} ELSE '' END",
        f"CASE WHEN {decided} THEN {_cell('r.c_comment')} ELSE '' END",
    ]
    # Parameters in the order of the text: the cells' labels, the inner query's, the texts'.
    sql = (
        f"SELECT {', '.join(cells)} FROM ({inner_sql}) AS r"  # noqa: S608
        f" CROSS JOIN LATERAL (SELECT {texts} OFFSET 0) AS t ORDER BY r.c_created DESC, r.c_id DESC"
    )
    return sql, [*params, *inner_params, *text_params]


def csv_records(
    rows: QuerySet[ChangeRequest], *, zone_name: str, words: CsvWords
) -> Iterator[list]:
    """The CSV's rows of `rows`, a few thousand at a time, made by PostgreSQL in `zone_name`."""
    sql, params = _statement(rows, words)
    connection = connections[rows.db]
    # In a transaction of its own: the zone is set for this query alone.
    with transaction.atomic(using=rows.db), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone_name])
        # Compiling this one query took PostgreSQL's JIT longer (1.5 s) than it saved.
        cursor.execute("SET LOCAL jit = off")
        # Streamed: PostgreSQL sends rows as it makes them while these are written (a
        # server-side cursor's FETCHes left one side idle while the other worked).
        records = cursor.cursor.stream(sql, params, size=ROWS_PER_FETCH)
        while batch := list(itertools.islice(records, ROWS_PER_FETCH)):
            yield batch
        # Inside an outer transaction (a savepoint) SET LOCAL would outlive this block: the
        # connection's own zone again, for whatever runs on it next.
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
