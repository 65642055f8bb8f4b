"""The history's page queries are served by indexes on PostgreSQL (the database a platform team
runs, at a million changes), and "Page N of M" stops counting at COUNT_CAP rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from console.dataflow.history import page as history_page_module
from console.dataflow.history.page import history_page
from console.dataflow.history.queries import history_rows, history_weekly
from console.dataflow.models import ChangeRequest, Service

pytestmark = pytest.mark.django_db
HISTORY = reverse("dataflow:history")


def some_changes(count: int, author, *, status: str = "succeeded") -> Service:
    service = Service.objects.create(scp_id="svc-1", name="sales-etl")
    now = timezone.now()
    ChangeRequest.objects.bulk_create(
        ChangeRequest(
            service=service,
            author=author,
            author_name="alice",
            reason=f"change {n}",
            base_revision=1,
            base_config={},
            desired_config={},
            status=status,
            created_at=now - timedelta(hours=n),
        )
        for n in range(count)
    )
    return service


def plan_of(rows) -> str:
    """EXPLAIN of the page's query (its first 50 rows), index paths preferred as at scale.

    A test table holds a handful of rows, where a sequential scan is cheapest; switching that
    off shows whether an index can serve the query at all (without one, the plan still shows
    a Seq Scan).
    """
    sql, params = rows[:50].query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(line for (line,) in cursor.fetchall())


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are PostgreSQL's; SQLite is the small-size default only")


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "change_newest_first"),
        ({"status": "failed"}, "change_status_newest_id"),
        ({"status": "rejected"}, "change_status_newest_id"),
    ],
    ids=["first-page", "status-failed", "status-rare"],
)
def test_the_history_page_reads_its_rows_from_an_index(postgres_only, admin_user, filters, index):
    some_changes(30, admin_user, status="failed")
    plan = plan_of(history_rows(filters))
    assert index in plan, plan
    assert "Seq Scan on dataflow_changerequest" not in plan, plan


def test_one_services_history_reads_its_rows_from_an_index(postgres_only, admin_user):
    service = some_changes(30, admin_user)
    plan = plan_of(history_rows({"service": service}))
    assert "change_service_newest" in plan, plan
    assert "Seq Scan on dataflow_changerequest" not in plan, plan


def test_a_service_name_filter_reaches_changes_through_an_index(postgres_only, admin_user):
    some_changes(30, admin_user)
    plan = plan_of(history_rows({"service_name": "sales"}))
    assert "Seq Scan on dataflow_changerequest" not in plan, plan


def test_a_service_name_filter_finds_services_by_trigrams(postgres_only, admin_user):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'service_name_trgm'")
        if cursor.fetchone() is None:
            pytest.skip("this server refused the pg_trgm extension: the filter scans services")
    some_changes(30, admin_user)
    plan = plan_of(history_rows({"service_name": "sales"}))
    assert "service_name_trgm" in plan, plan


def test_pages_stop_counting_at_the_cap_and_say_there_are_more(
    client, lead_user, admin_user, monkeypatch
):
    monkeypatch.setattr(history_page_module, "COUNT_CAP", 100)
    some_changes(130, admin_user)
    page = history_page(history_rows({}), number=9)
    assert page.paginator.capped and page.paginator.num_pages == 2 and page.number == 2
    client.force_login(lead_user)
    html = client.get(HISTORY + "?page=2").content.decode()
    assert "Page 2 of more than 2" in html
    assert 'data-testid="history-capped"' in html


def test_under_the_cap_the_count_is_exact(admin_user, monkeypatch):
    monkeypatch.setattr(history_page_module, "COUNT_CAP", 100)
    some_changes(100, admin_user)
    paginator = history_page(history_rows({}), number=1).paginator
    assert not paginator.capped and paginator.count == 100 and paginator.num_pages == 2


def test_the_weekly_chart_is_counted_once_a_minute_per_filter(admin_user, settings):
    settings.HISTORY_CHART_SECONDS = 60
    cache.clear()
    some_changes(5, admin_user)
    before = history_weekly(history_rows({}))
    ChangeRequest.objects.update(status="failed")
    assert history_weekly(history_rows({})) == before  # counted a moment ago: not again
    failed = history_weekly(history_rows({"status": "failed"}))  # another filter: counted now
    assert sum(counts["failed"] for counts in failed.values()) == 5
    settings.HISTORY_CHART_SECONDS = 0
    assert history_weekly(history_rows({})) != before
    cache.clear()


def test_a_deeper_page_finds_its_rows_by_key_in_the_same_order(
    admin_user, django_assert_num_queries
):
    some_changes(130, admin_user)
    newest_first = list(history_rows({}).values_list("pk", flat=True))
    with django_assert_num_queries(3):  # the capped count, the page's keys, its rows
        page = history_page(history_rows({}), number=2)
    assert [change.pk for change in page.object_list] == newest_first[50:100]
    assert page.object_list[0].service_name == "sales-etl"  # read with its row, as on page 1


def test_the_weekly_chart_is_drawn_once_per_counts_and_language(admin_user, settings, monkeypatch):
    from django.utils import translation

    from console.dataflow.history import charts

    settings.HISTORY_CHART_SECONDS = 60
    cache.clear()
    drawn = []
    real = charts.render_to_string
    monkeypatch.setattr(
        charts, "render_to_string", lambda *a, **k: drawn.append(a) or real(*a, **k)
    )
    some_changes(5, admin_user)
    weeks = history_weekly(history_rows({}))
    english = charts.weekly_chart_html(weeks)
    assert charts.weekly_chart_html(weeks) == english and len(drawn) == 1
    with translation.override("ko"):
        korean = charts.weekly_chart_html(weeks)
    assert len(drawn) == 2 and korean != english and "주별" in korean
    ChangeRequest.objects.update(status="failed")
    settings.HISTORY_CHART_SECONDS = 0
    assert charts.weekly_chart_html(history_weekly(history_rows({}))) != english  # new counts
    cache.clear()


def test_the_count_reads_the_changes_alone_unless_a_filter_needs_their_service(admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    some_changes(3, admin_user)
    for filters, joined in (({"status": "failed"}, False), ({"service_name": "sales"}, True)):
        with CaptureQueriesContext(connection) as captured:
            history_page(history_rows(filters), number=1)
        count = next(q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"])
        assert ("JOIN" in count) is joined, count
