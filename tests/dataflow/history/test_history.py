"""Change history for team leads: filters, bad query strings, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console.dataflow.models import ChangeRequest
from tests.dataflow.helpers import submit_edit
from tests.dataflow.pages import change_row, page_text

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status
HISTORY = reverse("dataflow:history")


def at(day: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(f"{day}T10:00:00"))


@pytest.fixture
def changes(imported, admin_user, lead_user):
    """Five final changes on three services, by two people, over three days."""
    sales, iot, archive = imported["sales-etl"], imported["iot-ingest"], imported["log-archive"]
    return {
        "sales-ok": change_row(
            sales,
            admin_user,
            Status.SUCCEEDED,
            reason="Bigger heap for month end",
            created_at=at("2026-01-05"),
            finished_at=at("2026-01-05") + timedelta(seconds=95),
        ),
        "sales-failed": change_row(
            sales,
            admin_user,
            Status.FAILED,
            reason="Try NiFi 9.9.9",
            created_at=at("2026-01-06"),
            finished_at=at("2026-01-06") + timedelta(seconds=3),
            error={
                "code": "ValidationError",
                "status": 400,
                "message": "SCP refused the update.",
                "global_request_id": "req-0123abcd",
            },
        ),
        "iot-cancelled": change_row(
            iot,
            lead_user,
            Status.CANCELLED,
            reason="Wrong service, withdrawn",
            created_at=at("2026-01-06"),
        ),
        "iot-different": change_row(
            iot,
            admin_user,
            Status.DIFFERENT,
            reason="New gateway, ticket OPS-77",
            ticket="OPS-77",
            created_at=at("2026-01-07"),
        ),
        "archive-ok": change_row(
            archive,
            admin_user,
            Status.SUCCEEDED,
            reason="Resume archiving",
            created_at=at("2026-01-07"),
        ),
    }


@pytest.fixture
def lead(client, lead_user):
    client.force_login(lead_user)
    return client


def listed(response) -> list[int]:
    """The change ids of the history table, in page order."""
    return [c.pk for c in response.context["page"].object_list]


def ids(changes, *names) -> list[int]:
    return [changes[name].pk for name in names]


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(content)))


def test_history_lists_every_change_newest_first(lead, changes):
    response = lead.get(HISTORY)

    assert response.status_code == 200
    assert listed(response) == ids(
        changes, "archive-ok", "iot-different", "iot-cancelled", "sales-failed", "sales-ok"
    )
    text = page_text(response)
    assert "Bigger heap for month end" in text
    assert "req-0123abcd" in text
    assert "1 min 35 s" in text  # how long it took


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            lambda c: {"service": c["iot-cancelled"].service_id},
            ["iot-different", "iot-cancelled"],
            id="service",
        ),
        pytest.param(lambda c: {"status": "succeeded"}, ["archive-ok", "sales-ok"], id="status"),
        pytest.param(lambda c: {"author": "LEO"}, ["iot-cancelled"], id="author-any-case"),
        pytest.param(
            lambda c: {"since": "2026-01-06"},
            ["archive-ok", "iot-different", "iot-cancelled", "sales-failed"],
            id="since",
        ),
        pytest.param(lambda c: {"until": "2026-01-05"}, ["sales-ok"], id="until"),
        pytest.param(
            lambda c: {"since": "2026-01-06", "until": "2026-01-06"},
            ["iot-cancelled", "sales-failed"],
            id="one-day",
        ),
        pytest.param(lambda c: {"q": "heap"}, ["sales-ok"], id="reason"),
        pytest.param(lambda c: {"q": "ops-77"}, ["iot-different"], id="ticket"),
        pytest.param(
            lambda c: {"service": c["sales-ok"].service_id, "status": "failed"},
            ["sales-failed"],
            id="service-and-status",
        ),
        pytest.param(lambda c: {"author": "nobody"}, [], id="no-match"),
    ],
)
def test_filters_select_the_matching_changes(lead, changes, query, expected):
    response = lead.get(HISTORY, query(changes))

    assert response.status_code == 200
    assert listed(response) == ids(changes, *expected)
    if not expected:
        assert "No changes match these filters." in page_text(response)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"status": "bogus"}, "Select a valid choice. bogus is not one of the available choices."),
        ({"since": "notadate"}, "Enter a valid date."),
        ({"until": "2026-02-31"}, "Enter a valid date."),
        ({"since": "2026-01-07", "until": "2026-01-05"}, "'Since' must be on or before 'until'."),
        ({"service": "999999"}, "Select a valid choice."),
        ({"service": "abc"}, "Select a valid choice."),
        ({"author": "x" * 151}, "at most 150 characters"),
    ],
)
def test_bad_filters_never_fail_and_say_what_is_wrong(lead, changes, query, message):
    response = lead.get(HISTORY, query)

    assert response.status_code == 200
    assert message in page_text(response)
    assert listed(response) == []  # a filter not understood selects nothing, not everything


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999", "1.5", "", "9" * 5000])
def test_any_page_number_gives_a_page(lead, changes, page):
    response = lead.get(HISTORY, {"page": page})

    assert response.status_code == 200
    assert len(listed(response)) == 5


def test_pages_hold_fifty_changes_and_an_out_of_range_page_shows_the_last(
    lead, imported, admin_user
):
    sales = imported["sales-etl"]
    ChangeRequest.objects.bulk_create(
        [
            ChangeRequest(
                service=sales,
                author=admin_user,
                author_name="alice",
                reason=f"change {n}",
                base_revision=1,
                base_config={},
                desired_config={},
                status=Status.SUCCEEDED,
                created_at=at("2026-01-01") + timedelta(minutes=n),
            )
            for n in range(55)
        ]
    )

    first = lead.get(HISTORY)
    last = lead.get(HISTORY, {"page": "99999", "status": "succeeded"})

    assert len(listed(first)) == 50
    assert "Page 1 of 2" in page_text(first)
    assert len(listed(last)) == 5
    assert "Page 2 of 2" in page_text(last)
    assert 'href="?status=succeeded&page=1"' in last.content.decode()


def test_csv_has_a_header_and_one_row_per_change(lead, changes):
    response = lead.get(HISTORY, {"format": "csv"})

    assert response.status_code == 200
    assert 'filename="change-history.csv"' in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header == [
        "\ufeffChange",
        "Service",
        "When",
        "Who",
        "Kind",
        "Why",
        "Ticket",
        "What changed",
        "Status",
        "SCP",
        "Global request id",
        "Took (seconds)",
        "Decision",
        "Decided by",
        "Decided at",
        "Decision comment",
    ]
    assert [int(r[0]) for r in rows] == ids(
        changes, "archive-ok", "iot-different", "iot-cancelled", "sales-failed", "sales-ok"
    )
    failed = next(r for r in rows if int(r[0]) == changes["sales-failed"].pk)
    assert failed[1] == "sales-etl"
    assert failed[3] == "alice"
    assert failed[2] == "2026-01-06 10:00:00 UTC"
    assert failed[4] == "Configuration"
    assert failed[5] == "Try NiFi 9.9.9"
    assert failed[8] == "Failed"
    assert failed[7].startswith("Description: ")
    assert failed[9:] == ["ValidationError", "req-0123abcd", "3", "", "", "", ""]


def test_the_csv_says_who_approved_or_rejected_and_why(lead, changes):
    from datetime import UTC, datetime

    ChangeRequest.objects.filter(pk=changes["sales-ok"].pk).update(
        decision="approved",
        decided_by_name="leo",
        decided_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        decision_comment="=looks fine",
    )

    _, *rows = csv_rows(lead.get(HISTORY, {"format": "csv"}))

    approved = next(r for r in rows if int(r[0]) == changes["sales-ok"].pk)
    assert approved[12:] == ["Approved", "leo", "2026-01-05 09:00:00 UTC", "'=looks fine"]


def test_csv_follows_the_filters(lead, changes):
    response = lead.get(HISTORY, {"format": "csv", "status": "succeeded"})

    _, *rows = csv_rows(response)
    assert [int(r[0]) for r in rows] == ids(changes, "archive-ok", "sales-ok")


def test_the_export_link_carries_the_filters(lead, changes):
    html = lead.get(HISTORY, {"status": "failed", "page": "1"}).content.decode()

    assert 'href="?status=failed&format=csv"' in html


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"])
def test_a_reason_that_looks_like_a_formula_is_neutralised_in_the_csv(
    lead, imported, admin_user, formula
):
    change_row(imported["sales-etl"], admin_user, Status.SUCCEEDED, reason=formula)

    _, row = csv_rows(lead.get(HISTORY, {"format": "csv"}))

    assert row[5] == "'" + formula


def test_a_changed_password_shows_as_changed_and_never_in_clear(
    lead, imported, admin_user, enqueued
):
    password = "N3w!Secret-pw"
    submit_edit(imported["sales-etl"], admin_user, lambda c: None, password=password)

    page = lead.get(HISTORY)
    export = lead.get(HISTORY, {"format": "csv"})

    assert password not in page.content.decode()
    assert "Password: changed" in page_text(page)
    content = b"".join(export.streaming_content).decode()
    assert password not in content
    assert "Password: changed" in content


def test_csv_with_bad_filters_shows_the_page_with_the_message_instead(lead, changes):
    response = lead.get(HISTORY, {"format": "csv", "since": "notadate"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Enter a valid date." in page_text(response)
