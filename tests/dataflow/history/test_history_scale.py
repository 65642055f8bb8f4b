"""The history at scale: the service filter without a <select>, the weekly counts the chart
reads, a constant number of queries, and the CSV's rows read without model instances."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from console.dataflow.history.charts import weekly_chart, weekly_counts
from console.dataflow.history.queries import history_rows, history_weekly
from console.dataflow.models import ChangeRequest, Service
from console.dataflow.people.timezones import SESSION_KEY
from tests.dataflow.pages import change_row, page_text

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status
HISTORY = reverse("dataflow:history")


@pytest.fixture
def lead(client, lead_user):
    client.force_login(lead_user)
    return client


def listed(response) -> list[int]:
    return [c.pk for c in response.context["page"].object_list]


def spread(service: Service, author, *, count: int, start: datetime, step: timedelta) -> None:
    """`count` changes of every kind of status, `step` apart from `start` backwards."""
    statuses = [Status.SUCCEEDED, Status.FAILED, Status.DIFFERENT, Status.CANCELLED]
    statuses += [Status.OUTSIDE, Status.REJECTED, Status.QUEUED]
    ChangeRequest.objects.bulk_create(
        ChangeRequest(
            service=service,
            author=author,
            author_name="alice",
            reason=f"change {n}",
            base_revision=1,
            base_config={},
            desired_config={},
            status=statuses[n % len(statuses)],
            # Only one change may be in flight per service; the others are long final.
            kind=ChangeRequest.Kind.OUTSIDE if n % 7 == 4 else ChangeRequest.Kind.FULL,
            created_at=start - step * n,
        )
        for n in range(count)
        if statuses[n % len(statuses)] != Status.QUEUED or n == 6
    )


@pytest.mark.parametrize("zone", ["UTC", "Asia/Seoul", "America/New_York"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"status": "failed"}, {"author": "ali"}, {"service_name": "iot"}],
    ids=["all", "status", "author", "service-name"],
)
def test_the_weekly_counts_draw_the_chart_the_group_by_draws(imported, admin_user, zone, filters):
    # 40 weeks of changes, 17 hours apart, across the daylight-saving changes of New York.
    start = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    spread(imported["sales-etl"], admin_user, count=400, start=start, step=timedelta(hours=17))
    spread(imported["iot-ingest"], admin_user, count=50, start=start, step=timedelta(days=3))

    with timezone.override(zone):
        rows = history_rows(filters)
        ours = history_weekly(rows)
        reference = weekly_counts(rows)

    assert len(reference) > 26 or filters.get("service_name")  # the window cuts something
    assert weekly_chart(ours) == weekly_chart(reference)
    assert ours == {week: counts for week, counts in reference.items() if week >= min(ours)}


def test_no_change_draws_no_chart(db):
    assert history_weekly(history_rows({})) == {}
    assert history_weekly(ChangeRequest.objects.none()) == {}


def test_the_service_filter_is_a_text_field_not_a_list_of_every_service(lead, imported, admin_user):
    sales, iot = imported["sales-etl"], imported["iot-ingest"]
    in_sales = change_row(sales, admin_user, Status.SUCCEEDED)
    in_iot = change_row(iot, admin_user, Status.SUCCEEDED)

    response = lead.get(HISTORY, {"service_name": "SALES"})
    html = response.content.decode()

    assert listed(response) == [in_sales.pk]
    assert '<select name="service"' not in html
    assert 'name="service_name"' in html
    assert "Service name contains" in page_text(response)
    assert listed(lead.get(HISTORY, {"service_name": "-"})) == [in_iot.pk, in_sales.pk]


def test_a_link_to_one_services_history_names_it_and_offers_all_services(
    lead, imported, admin_user
):
    sales = imported["sales-etl"]
    change_row(sales, admin_user, Status.FAILED)
    change_row(imported["iot-ingest"], admin_user, Status.FAILED)

    response = lead.get(HISTORY, {"service": sales.pk, "status": "failed"})
    html = response.content.decode()

    assert [c.service_id for c in response.context["page"].object_list] == [sales.pk]
    assert "Service sales-etl" in page_text(response)
    assert 'href="?status=failed" data-testid="history-all-services"' in html
    # Filtering again keeps the one service: it travels in a hidden field.
    assert f'<input type="hidden" name="service" value="{sales.pk}"' in html


def test_the_history_page_needs_the_same_queries_for_3_or_300_services_and_changes(
    lead, imported, admin_user
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert lead.get(HISTORY).status_code == 200
        return len(context.captured_queries)

    # Over 26 weeks already: the chart's counts take as many statements as they ever will.
    spread(imported["sales-etl"], admin_user, count=30, start=timezone.now(), step=timedelta(10))
    queries()  # the first request of a test fills caches (content types) once
    few = queries()
    Service.objects.bulk_create(
        Service(scp_id=f"extra-{n}", name=f"extra-{n:03d}", config={}) for n in range(300)
    )
    extra = list(Service.objects.filter(name__startswith="extra-"))
    for n, service in enumerate(extra):
        change_row(service, admin_user, Status.SUCCEEDED, created_at=timezone.now() - timedelta(n))

    assert queries() == few


def test_the_csv_says_what_scp_reported_in_the_persons_time_zone(lead, imported, admin_user):
    sales = imported["sales-etl"]
    at = datetime(2026, 1, 5, 1, 2, 3, tzinfo=UTC)
    outside = change_row(
        sales,
        admin_user,
        Status.OUTSIDE,
        kind=ChangeRequest.Kind.OUTSIDE,
        author_name="SCP",
        created_at=at,
        finished_at=at,
        scp_modified_at=at - timedelta(minutes=5),
    )
    alias = change_row(
        sales,
        admin_user,
        Status.SUCCEEDED,
        created_at=at - timedelta(days=1),
        accepted_at=at - timedelta(days=1),
        finished_at=at - timedelta(days=1) + timedelta(seconds=61, microseconds=900_000),
        diff=[{"section": "Host aliases", "label": "metrics.local", "kind": "added"}],
    )
    session = lead.session
    session[SESSION_KEY] = "Asia/Seoul"
    session.save()

    response = lead.get(HISTORY, {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8")
    _, *rows = list(csv.reader(io.StringIO(text)))

    assert [int(row[0]) for row in rows] == [outside.pk, alias.pk]
    assert rows[0][2] == "2026-01-05 10:02:03 KST"
    assert rows[0][4] == "Outside the console"
    assert rows[0][8] == "Changed outside the console"
    assert rows[0][9] == "modified 2026-01-05 09:57:03 KST"
    assert rows[0][11] == ""  # SCP says when, not how long
    assert rows[1][7] == "host alias metrics.local added"
    assert rows[1][9:12] == ["202 Accepted", "", "61"]  # whole seconds, never rounded up


def test_the_csv_streams_in_pieces_of_many_rows(lead, imported, admin_user):
    spread(imported["sales-etl"], admin_user, count=1200, start=timezone.now(), step=timedelta(1))
    total = ChangeRequest.objects.count()

    pieces = list(lead.get(HISTORY, {"format": "csv"}).streaming_content)

    assert len(pieces) == 1 + -(-total // 500)  # the header, then 500 rows a piece
    assert b"".join(pieces).decode("utf-8").count("\r\n") == total + 1
