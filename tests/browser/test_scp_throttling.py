"""SCP throttling as an admin sees it: the change waits with a sentence, then succeeds once.

A real worker in its own process; the simulator refuses the PUT with 429 and Retry-After, as
SCP's gateway may, and the edge limit is on.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.models import ChangeRequest
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_throttled_change_says_it_waits_then_succeeds_with_one_put(
    page: Page, worker_process, scp, imported, admin_user
):
    service = imported["sales-etl"]
    memory = service.config["workloads"]["nifi"]["memory"] * 2
    scp.fault(service.scp_id, fail_next=1, fail_status=429, fail_method="PUT", retry_after=12)

    sign_in(page, admin_user.username, PASSWORD)
    page.goto(f"/services/{service.pk}/edit/")
    page.get_by_label("NiFi memory (MiB)").fill(str(memory))
    page.get_by_test_id("review").click()
    page.get_by_label("Reason for this change").fill("More heap")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))

    waiting = page.get_by_test_id("waiting")
    expect(waiting).to_contain_text("SCP is throttling requests; waiting", timeout=20_000)
    expect(page.get_by_test_id("change-status")).to_have_text("Queued")
    expect(page.get_by_test_id("scp-error")).to_have_count(0)
    snap(page, "throttled-waiting")

    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.get_by_test_id("waiting")).to_have_count(0)
    snap(page, "throttled-succeeded")
    assert len(scp.applied_puts(service.scp_id)) == 1
    change = ChangeRequest.objects.get(service=service)
    assert [a.outcome for a in change.tries.all()] == ["throttled", "accepted"]
    expect(page.get_by_test_id("change-live")).to_contain_text("Succeeded")
