"""Two admins edit one service at once: neither silently reverts the other."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from console.dataflow.models import Service
from console.dataflow.people.roles import ADMINS
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD, _person
from tests.dataflow.helpers import puts

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def confirm_and_wait(page: Page, reason: str) -> None:
    page.get_by_label("Reason for this change").fill(reason)
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    expect(page.get_by_test_id("change-status")).to_have_text("Succeeded", timeout=30_000)


def test_a_colleagues_change_made_while_my_form_was_open_survives_my_edit(
    page: Page, browser: Browser, live_server, celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    before = service.config["workloads"]
    new_cpu = before["nifi"]["cpu"] + 1000
    assert before["nifi_registry"]["memory"] != 4096
    bob = _person("bob", ADMINS)

    # Admin A (alice) opens the edit page and leaves it open.
    sign_in(page, admin_user.username, PASSWORD)
    page.goto(f"/services/{service.pk}/edit/")
    opened_on = page.locator("input[name=base_revision]").input_value()

    # Admin B (bob), in a browser of his own, raises NiFi Registry memory and sees it succeed.
    other = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    other.set_default_timeout(15_000)
    try:
        bob_page = other.new_page()
        sign_in(bob_page, bob.username, PASSWORD)
        bob_page.goto(f"/services/{service.pk}/edit/")
        bob_page.get_by_label("NiFi Registry memory (MiB)").fill("4096")
        bob_page.get_by_test_id("review").click()
        expect(bob_page.get_by_test_id("diff-row")).to_have_count(1)
        confirm_and_wait(bob_page, "Registry needs more heap")
    finally:
        other.close()
    service.refresh_from_db()
    assert str(service.config_revision) != opened_on
    assert service.config["workloads"]["nifi_registry"]["memory"] == 4096

    # A, on the form opened before B's change, raises NiFi CPU and goes to the review at once.
    page.get_by_label("NiFi CPU (millicores)").fill(str(new_cpu))
    page.get_by_test_id("review").click()

    expect(page).to_have_url(re.compile(r"/review/"))
    rows = page.get_by_test_id("diff-row")
    expect(rows).to_have_count(1)
    expect(page.locator("[data-testid=diff-row][data-field='workloads.nifi.cpu']")).to_have_count(1)
    stale = page.get_by_test_id("stale")
    expect(stale).to_contain_text("The configuration changed since you opened the form")
    expect(page.get_by_test_id("stale-authors")).to_have_text("bob")
    expect(stale.locator("[data-field='workloads.nifi_registry.memory']")).to_contain_text("4096")
    snap(page, "two-admins-review")
    confirm_and_wait(page, "More CPU for the nightly load")

    # A's PUT carries A's CPU and keeps B's 4096 MiB.
    last = puts(scp, Service.objects.get(pk=service.pk))[-1]
    assert last["verdict"] == "ok"
    workload = last["body"]["service_workload"]
    assert workload["nifi"]["cpu"] == str(new_cpu)
    assert workload["nifi_registry"]["memory"] == "4096"
