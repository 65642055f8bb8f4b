"""An admin meets a freeze: the change waits Scheduled, its page says when it goes, and "send
now" with a reason sends it once."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from console.dataflow.models import MaintenanceFreeze, Service
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_change_confirmed_in_a_freeze_waits_and_an_admin_sends_it_now(
    page: Page, celery_worker, scp, imported, admin_user
):
    service: Service = imported["sales-etl"]
    today = timezone.localdate()
    MaintenanceFreeze.objects.create(
        connection_name="default",
        first_day=today,
        last_day=today,
        time_zone=timezone.get_current_timezone_name(),
        reason="release day",
    )
    sign_in(page, admin_user.username, PASSWORD)
    page.goto(service.get_absolute_url())
    expect(page.get_by_test_id("maintenance-window")).to_contain_text("release day")

    page.get_by_test_id("edit-service").click()
    page.get_by_label("NiFi memory (MiB)").fill("4096")
    page.get_by_test_id("review").click()
    page.get_by_label("Reason for this change").fill("Heap for the month end")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    expect(page.get_by_test_id("change-status")).to_have_text("Scheduled")
    expect(page.get_by_test_id("scheduled")).to_contain_text("Scheduled: goes at")
    snap(page, "change-scheduled")
    assert puts(scp, service) == []

    page.get_by_test_id("send-now-reason").fill("emergency")
    page.get_by_test_id("send-now").click()
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)
    expect(page.get_by_test_id("timeline")).to_contain_text(
        "outside the maintenance windows: emergency"
    )
    assert len(puts(scp, service)) == 1
