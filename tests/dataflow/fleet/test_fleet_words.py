"""A fleet change's edit is said in the reader's language, whoever wrote it."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from console.dataflow.fleet.lifecycle import fleet_create
from tests.dataflow.pages import page_text


def test_a_korean_lead_reads_an_english_admins_fleet_edit_in_korean(db, lead_user):
    fleet = fleet_create(
        status="awaiting_approval",
        message="Created",
        author_name="alice",
        edit={"action": "remove_host", "hostname": "kafka-1.internal"},
        edit_summary="Remove host name kafka-1.internal",  # the author's English
        ticket="OPS-1",
        reason="Broker retired",
    )
    korean = Client(headers={"accept-language": "ko"})
    korean.force_login(lead_user)

    for path in (
        reverse("dataflow:fleet-detail", args=[fleet.pk]),
        reverse("dataflow:fleet-list"),
        reverse("dataflow:approvals"),
    ):
        text = page_text(korean.get(path))
        assert "kafka-1.internal" in text, path
        assert "Remove host name" not in text, path


def test_a_fleet_whose_edit_cannot_be_read_shows_what_was_stored(db, lead_user):
    fleet = fleet_create(
        status="awaiting_approval",
        message="Created",
        author_name="alice",
        edit={"unexpected": True},
        edit_summary="An older edit",
        ticket="OPS-2",
        reason="Old row",
    )
    client = Client()
    client.force_login(lead_user)

    assert "An older edit" in page_text(
        client.get(reverse("dataflow:fleet-detail", args=[fleet.pk]))
    )
