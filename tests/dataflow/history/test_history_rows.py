"""The history's row cells, made in Python (history/page.py): every kind of cell, what a hostile
value becomes, and the reader's language."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console.dataflow.models import ChangeRequest
from tests.dataflow.pages import change_row

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status
HISTORY = reverse("dataflow:history")
HOSTILE = '<script>alert("x")</script>'


def _entry(label: str, **fields) -> dict:
    return {"section": "NiFi", "field": "nifi.memory", "label": label, "kind": "changed", **fields}


@pytest.fixture
def busy_change(imported, admin_user):
    """A change with every cell filled: six diff entries, a decision, SCP's error."""
    created = timezone.now() - timedelta(hours=1)
    diff = [
        _entry("NiFi memory", before_display="4 GiB", after_display="8 GiB"),
        _entry("Password", field="account.password", secret=True),
        {"section": "Host aliases", "label": "db.local", "kind": "added"},
        {"section": "Host aliases", "label": HOSTILE, "kind": "removed"},
        _entry("NiFi CPU", before_display="2 cores", after_display="4 cores"),
        _entry("NiFi replicas", before_display="1", after_display="3"),
    ]
    return change_row(
        imported["sales-etl"],
        admin_user,
        Status.FAILED,
        reason=HOSTILE + " and a reason far longer than eighty characters, cut where it must be",
        ticket=HOSTILE,
        diff=diff,
        created_at=created,
        finished_at=created + timedelta(seconds=65),
        decision="approved",
        decided_by_name="lead <b>",
        decided_at=created,
        decision_comment="fine " + HOSTILE,
        error={"code": "<x>-409", "global_request_id": "req-1"},
    )


def _row_html(response, pk: int) -> str:
    page = response.content.decode()
    match = re.search(rf'<tr data-testid="history-row" data-change="{pk}".*?</tr>', page, re.S)
    assert match, page
    return match.group(0)


def _text(row: str) -> str:
    """The row as read: tags out, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def test_every_cell_of_a_row_says_what_happened(client, lead_user, busy_change):
    client.force_login(lead_user)
    row = _row_html(client.get(HISTORY), busy_change.pk)
    text = _text(row)
    assert "NiFi memory: 4 GiB → 8 GiB" in text
    assert "Password: changed" in text
    assert "host alias db.local added" in text
    assert "and 2 more" in text and "NiFi CPU" not in text  # four entries, then a count
    assert "Failed" in text and "approved by lead <b>" in text
    assert "<x>-409" in text and "req-1" in text
    assert "1 min 5 s" in text
    assert f'href="{reverse("dataflow:change-detail", args=[busy_change.pk])}"' in row


def test_no_value_in_a_row_is_markup(client, lead_user, busy_change):
    client.force_login(lead_user)
    row = _row_html(client.get(HISTORY), busy_change.pk)
    assert "<script>" not in row and "<b>" not in row and "<x>" not in row
    assert row.count("&lt;script&gt;") == 4  # the reason, the ticket, an alias, the comment


def test_a_korean_reader_reads_the_cells_in_korean(client, lead_user, busy_change):
    client.force_login(lead_user)
    response = client.get(HISTORY, HTTP_ACCEPT_LANGUAGE="ko")
    text = _text(_row_html(response, busy_change.pk))
    assert "호스트 별칭 db.local 추가" in text
    assert "외 2건" in text
    assert "lead <b> 님이" in text and "승인" in text


def test_a_change_made_outside_says_when_scp_saw_it(client, lead_user, imported, admin_user):
    outside = change_row(
        imported["sales-etl"],
        admin_user,
        Status.SUCCEEDED,
        kind=ChangeRequest.Kind.OUTSIDE,
        scp_modified_at=timezone.now(),
        finished_at=timezone.now(),
    )
    accepted = change_row(
        imported["iot-ingest"], admin_user, Status.SUCCEEDED, accepted_at=timezone.now()
    )
    client.force_login(lead_user)
    response = client.get(HISTORY)
    outside_row = _row_html(response, outside.pk)
    assert "bi-box-arrow-in-down-right" in outside_row and "modified " in outside_row
    assert "202 Accepted" in _row_html(response, accepted.pk)
