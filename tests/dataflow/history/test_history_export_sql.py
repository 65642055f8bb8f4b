"""On PostgreSQL the CSV's cells are made by the database (export_sql): the same file, cell for
cell, as the Python writer makes from the same rows, in any zone and language."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import translation

from console.dataflow.history.queries import CsvWords, csv_batches, history_rows
from console.dataflow.models import ChangeRequest, Service
from tests.dataflow.pages import change_row

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the database-made export is PostgreSQL's; SQLite exports in Python")


@pytest.fixture
def every_kind_of_row(admin_user):
    """Rows that take every branch of the cells: formulas, decisions, errors, aliases, secrets."""
    sales = Service.objects.create(scp_id="svc-1", name="=sales-etl", config={})
    at = datetime(2026, 3, 8, 6, 30, 5, 250_000, tzinfo=UTC)  # New York's clocks go forward
    change_row(sales, admin_user, Status.SUCCEEDED, created_at=at, reason="+1 replica\nnow")
    change_row(
        sales,
        admin_user,
        Status.FAILED,
        created_at=at - timedelta(hours=1),
        ticket="-OPS-1",
        error={"code": "SCP-400", "global_request_id": "=abc", "message": "no"},
        finished_at=at - timedelta(minutes=58, seconds=0.5),
        decision="approved",
        decided_by_name="@lead",
        decided_at=at - timedelta(hours=2),
        decision_comment='fine, "quoted"',
    )
    change_row(
        sales,
        admin_user,
        Status.REJECTED,
        created_at=at - timedelta(days=1),
        decision="rejected",
        decided_by_name="lead",
        decision_comment="",
        diff=[
            {"section": "NiFi", "label": "Password", "secret": True},
            {"section": "Host aliases", "label": "metrics.local", "kind": "added"},
        ],
    )
    change_row(
        sales,
        admin_user,
        Status.OUTSIDE,
        kind=ChangeRequest.Kind.OUTSIDE,
        created_at=at - timedelta(days=2),
        finished_at=at - timedelta(days=2),
        scp_modified_at=at - timedelta(days=2, minutes=5),
        diff=[],
    )
    change_row(
        sales,
        admin_user,
        Status.DIFFERENT,
        created_at=at - timedelta(days=3),
        accepted_at=at - timedelta(days=3),
        finished_at=at - timedelta(days=3) + timedelta(seconds=61, microseconds=900_000),
        reason="한국어 이유",
    )
    change_row(
        sales,
        admin_user,
        Status.CANCELLED,
        kind=ChangeRequest.Kind.OUTSIDE,
        created_at=at - timedelta(days=4),
        diff=[],
    )


def written(rows, *, zone: str, in_database: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for batch in csv_batches(rows, words=CsvWords(ZoneInfo(zone)), in_database=in_database):
        writer.writerows(batch)
    return buffer.getvalue()


@pytest.mark.parametrize("zone", ["UTC", "Asia/Seoul", "America/New_York", "Asia/Dubai"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_database_writes_the_csv_the_python_writer_writes(
    postgres_only, every_kind_of_row, zone, language
):
    with translation.override(language):
        ours = written(history_rows({}), zone=zone, in_database=True)
        python = written(history_rows({}), zone=zone, in_database=False)
    assert ours.count("\r\n") >= 6
    assert "Password: " in ours and "SCP-400" in ours and "'=sales-etl" in ours
    assert ours == python, ours


def test_the_database_export_follows_the_filters(postgres_only, every_kind_of_row):
    rows = history_rows({"status": "failed", "service_name": "sales"})
    ours = written(rows, zone="Asia/Seoul", in_database=True)
    assert ours == written(rows, zone="Asia/Seoul", in_database=False)
    assert len(list(csv.reader(io.StringIO(ours)))) == 1
