"""The history at the size of a real platform team: 1,000,000 changes over 10,000 services on
PostgreSQL (100,000 on SQLite), its pages against a bare psycopg query of the same rows, and
the CSV export's rate and peak memory."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import tracemalloc
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from console.dataflow.history.page import history_page_values
from console.dataflow.history.queries import history_rows
from console.dataflow.models import ChangeRequest, Service
from tests.bench.bench_pages import data_wipe
from tests.bench.bench_scale import _get, _get_streamed, _ratio, _seed_services, _superuser
from tests.bench.bench_stats import Result, repeat, timing

SERVICES = 10_000
CHANGES_POSTGRES = 1_000_000
CHANGES_SQLITE = 100_000
RUNS = 25
_STATUSES = ["succeeded"] * 7 + ["failed", "different", "cancelled"]
_DIFF = [
    {
        "section": "NiFi",
        "field": "nifi.memory",
        "label": "NiFi memory",
        "before": 4,
        "after": 8,
        "before_display": "4 GiB",
        "after_display": "8 GiB",
    },
    {
        "section": "NiFi",
        "field": "nifi.cpu",
        "label": "NiFi CPU",
        "before": 2,
        "after": 4,
        "before_display": "2 cores",
        "after_display": "4 cores",
    },
]
# Every NOT NULL column without a database default, then the dates the history shows.
_COLUMNS = (
    "service_id",
    "author_id",
    "author_name",
    "kind",
    "reason",
    "ticket",
    "base_revision",
    "base_config",
    "desired_config",
    "account_password_encrypted",
    "password_changed",
    "diff",
    "status",
    "attempts",
    "put_unconfirmed",
    "update_seen",
    "claimed_by",
    "language",
    "polls",
    "poll_errors_in_a_row",
    "differences",
    "web_url_nifi",
    "web_url_registry",
    "scp_modified_by",
    "created_at",
    "submitted_at",
    "finished_at",
    "decision",
    "decided_by_name",
    "decision_comment",
)


def history_size() -> int:
    """How many changes the history holds here: a million on PostgreSQL, less on SQLite."""
    return CHANGES_POSTGRES if connection.vendor == "postgresql" else CHANGES_SQLITE


def seed_changes(count: int, author) -> float:
    """`count` final changes spread over the services, newest first a minute apart; seconds.

    PostgreSQL: one COPY, lines made in blocks of 10,000 (a million rows in well under a
    minute, indexes included), then VACUUM ANALYZE of both tables, as autovacuum would after
    such a load.
    SQLite: bulk inserts of 5,000.
    """
    started = time.perf_counter()
    ids = list(Service.objects.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    if connection.vendor == "postgresql":
        _copy_changes(count, ids, author.pk, now)
    else:
        _insert_changes(count, ids, author, now)
    return time.perf_counter() - started


def _copy_changes(count: int, ids: list[int], author_id: int, now) -> None:
    diff = json.dumps(_DIFF).replace("\\", "\\\\")
    # The constant middle of every line, in COPY's text format (tab-separated, \N for NULL).
    middle = f"1\t{{}}\t{{}}\t\tf\t{diff}\t"
    tail = "0\tf\tf\t\ten-US\t0\t0\t[]\t\t\t\t"
    sql = f"COPY dataflow_changerequest ({', '.join(_COLUMNS)}) FROM STDIN"
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for start in range(0, count, 10_000):
            block = io.StringIO()
            for i in range(start, min(count, start + 10_000)):
                created = now - timedelta(minutes=i)
                block.write(
                    f"{ids[i % len(ids)]}\t{author_id}\tbench-super\tfull\t"
                    f"Benchmark change {i}: more memory for NiFi.\t"
                    f"{f'OPS-{i}' if i % 2 else ''}\t{middle}{_STATUSES[i % 10]}\t{tail}"
                    f"{created.isoformat()}\t{(created + timedelta(seconds=1)).isoformat()}\t"
                    f"{(created + timedelta(seconds=45)).isoformat()}\t\t\t\n"
                )
            copy.write(block.getvalue())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE dataflow_changerequest, dataflow_service")


def _insert_changes(count: int, ids: list[int], author, now) -> None:
    batch = []
    for i in range(count):
        created = now - timedelta(minutes=i)
        batch.append(
            ChangeRequest(
                service_id=ids[i % len(ids)],
                author=author,
                author_name="bench-super",
                reason=f"Benchmark change {i}: more memory for NiFi.",
                ticket=f"OPS-{i}" if i % 2 else "",
                base_revision=1,
                base_config={},
                desired_config={},
                diff=_DIFF,
                status=_STATUSES[i % 10],
                created_at=created,
                submitted_at=created + timedelta(seconds=1),
                finished_at=created + timedelta(seconds=45),
            )
        )
        if len(batch) == 5000:
            ChangeRequest.objects.bulk_create(batch)
            batch = []
    ChangeRequest.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _page_sql(filters: dict) -> list[str]:
    """The statements the page's rows cost (its capped count and its 50 rows), as sent."""
    with CaptureQueriesContext(connection) as captured:
        _console_rows(filters)
    return [query["sql"] for query in captured.captured_queries]


def _bare_rows(statements: list[str]) -> None:
    """The same statements on the bare driver's connection (psycopg), every row fetched."""
    cursor = connection.connection.cursor()
    try:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()
    finally:
        cursor.close()


def _console_rows(filters: dict) -> None:
    """What the page reads for its rows through the ORM: the capped count and the 50 rows'
    values (what the rows then say is the page's work, timed in the page's line)."""
    history_page_values(history_rows(filters), number=1)


# (name, query string, filters for history_rows)
_PAGES = [
    ("first page", "", {}),
    ("status=failed", "?status=failed", {"status": "failed"}),
    ("service name contains 'svc-0001'", "?service_name=svc-0001", {"service_name": "svc-0001"}),
    ("page 200", "?page=200", None),
]


def bench_history() -> list[Result]:
    """History pages and CSV export at 1,000,000 changes (PostgreSQL) or 100,000 (SQLite)."""
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The production default: the weekly chart counted once a minute per filter (the "cold"
    # lines below are views that count it).
    settings.HISTORY_CHART_SECONDS = 60
    data_wipe()
    user = _superuser()
    _seed_services(SERVICES)
    count = history_size()
    seeded = seed_changes(count, user)
    group = f"History, {count:,} changes, {SERVICES:,} services ({connection.vendor})"
    results = [
        Result(
            group=group,
            name=f"seed {count:,} changes",
            unit="seconds",
            median=seeded,
            figure=f"{seeded:.1f} s",
            target="< 60 s",
            passed=seeded < 60,
        )
    ]
    client = Client()
    client.force_login(user)
    url = reverse("dataflow:history")
    driver = "psycopg" if connection.vendor == "postgresql" else "sqlite3"
    for name, query, filters in _PAGES:
        samples = repeat(lambda q=query: _get(client, url + q), runs=RUNS)
        results.append(timing(group, f"history page, {name}", samples, target_s=50e-3))
        if filters is None:
            continue
        cold = repeat(lambda q=query: (cache.clear(), _get(client, url + q)), runs=5, warmup=0)
        results.append(timing(group, "  the same, counting the weekly chart (cold)", cold))
        ours = repeat(lambda f=filters: _console_rows(f), runs=RUNS)
        statements = _page_sql(filters)
        bare = repeat(lambda s=statements: _bare_rows(s), runs=RUNS)
        results += [
            timing(group, f"  its rows + count via the ORM, {name}", ours),
            timing(group, f"  the same SQL on the bare {driver} connection, {name}", bare),
            _ratio(group, f"rows via the ORM / bare {driver}, {name}", ours, bare, 1.2),
        ]
    results += _bench_csv(client, url, count, group)
    return results


def _bench_csv(client: Client, url: str, count: int, group: str) -> list[Result]:
    csv_url = url + "?format=csv"
    started = time.perf_counter()
    tracemalloc.start()
    size = _get_streamed(client, csv_url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traced = time.perf_counter() - started
    with _RssPeak() as rss:
        export = repeat(lambda: _get_streamed(client, csv_url), runs=3, warmup=0)
    median = sorted(export)[1]
    rate = count / median
    detail = {"bytes": size, "seconds_under_tracemalloc": traced}
    return [
        timing(group, "CSV export, whole download", export, throughput=False, detail=detail),
        Result(
            group=group,
            name="CSV export rate (rows/s)",
            unit="rate",
            median=rate,
            figure=f"{rate:,.0f}",
            target=">= 100,000",
            passed=rate >= 100_000,
            detail=detail,
        ),
        Result(
            group=group,
            name="CSV export peak Python memory (MB)",
            unit="memory",
            median=peak / 1e6,
            figure=f"{peak / 1e6:.1f}",
            target="< 100",
            passed=peak / 1e6 < 100,
            detail=detail,
        ),
        Result(
            group=group,
            name="CSV export, growth of the process's resident memory (MB)",
            unit="memory",
            median=rss.growth / 1e6,
            figure=f"{rss.growth / 1e6:.1f}",
            target="< 100",
            passed=rss.growth / 1e6 < 100,
            detail={"rss_before_mb": rss.before / 1e6, "rss_peak_mb": rss.peak / 1e6},
        ),
    ]


class _RssPeak:
    """The process's resident memory sampled every 10 ms while the block runs (the C side too:
    the driver's buffers escape tracemalloc)."""

    def __enter__(self) -> _RssPeak:
        self.before = self.peak = _rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


def _rss() -> int:
    """Resident bytes of this process (Linux), 0 elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
