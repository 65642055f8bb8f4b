"""Every moment on every page is said one way, in the reader's time zone, with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client
from django.urls import reverse

from console.dataflow.fleet.lifecycle import fleet_create
from console.dataflow.models import ChangeRequest
from tests.dataflow.helpers import raise_memory, submit_edit
from tests.dataflow.pages import page_text

MOMENT = datetime(2026, 12, 4, 10, 18, 7, tzinfo=UTC)
IN_SEOUL = "2026-12-04 19:18"


def test_a_lead_in_seoul_reads_every_moment_as_kst(imported, admin_user, lead_user):
    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    ChangeRequest.objects.filter(pk=change.pk).update(
        decision="approved", decided_by_name="Lead", decided_at=MOMENT
    )
    fleet = fleet_create(
        status="awaiting_approval",
        message="Created",
        author_name="Admin",
        edit={"action": "remove_host", "hostname": "kafka-1.internal"},
        edit_summary="Remove kafka-1.internal",
        ticket="OPS-1",
        reason="Broker retired",
        created_at=MOMENT,
    )
    client = Client(headers={"accept-language": "ko"})
    client.force_login(lead_user)
    client.post(reverse("dataflow:preferences"), {"time_zone": "Asia/Seoul"})

    pages = {
        "change": reverse("dataflow:change-detail", args=[change.pk]),
        "fleet list": reverse("dataflow:fleet-list"),
        "fleet": reverse("dataflow:fleet-detail", args=[fleet.pk]),
        "approvals": reverse("dataflow:approvals"),
    }
    for name, path in pages.items():
        text = page_text(client.get(path))
        assert f"{IN_SEOUL}" in text and "KST" in text, name
        assert "p.m." not in text and "Dec." not in text and "..." not in text, name
