"""An admin reads what a change will do before confirming it, in English and in Korean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from console.dataflow.models import ChangeRequest, Service
from tests.browser.conftest import snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import puts, submit_edit
from tests.notify_servers import catalogue_compile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["en-US", "ko-KR"])
def reader(request, browser: Browser, live_server) -> Iterator[tuple[Page, str]]:
    """A browser in English or in Korean (Accept-Language), at a laptop's width, offline."""
    catalogue_compile()
    context = browser.new_context(
        base_url=live_server.url, locale=request.param, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.route(lambda url: not url.startswith(live_server.url), lambda route: route.abort())
    yield page, request.param[:2]
    context.close()


def _sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_test_id("sign-in").click()
    expect(page).to_have_url(re.compile(r"/$"))


def _past_changes(service: Service, author, minutes: list[int]) -> None:
    """Changes of `service` that ended Succeeded, each after `minutes`."""
    for took in minutes:
        change = submit_edit(service, author, lambda c, t=took: c.update(description=f"took {t}"))
        end = timezone.now()
        ChangeRequest.objects.filter(pk=change.pk).update(
            status=ChangeRequest.Status.SUCCEEDED,
            created_at=end - timedelta(minutes=took),
            finished_at=end,
        )


def test_a_version_change_shows_the_restart_and_fewer_nodes_need_the_box_ticked(
    reader, scp, imported, admin_user
):
    page, language = reader
    features, sales = imported["ml-features"], imported["sales-etl"]
    _sign_in(page, admin_user.username)
    expect(page.locator("html")).to_have_attribute("lang", language)

    # A NiFi upgrade on NiFi 1.x: every node restarts at once.
    page.goto(f"/services/{features.pk}/edit/")
    page.locator("#id_nifi_version").select_option("1.27.1")
    page.get_by_test_id("review").click()
    restart = page.locator("[data-testid=impact-item][data-code=version_restart_all]")
    expect(restart).to_be_visible()
    if language == "en":
        expect(page.get_by_test_id("impact")).to_contain_text("What this change will do")
        expect(restart).to_contain_text("Every NiFi node restarts at once")
        expect(restart.get_by_test_id("impact-source")).to_have_text("NiFi docs")
    expect(page.get_by_test_id("acknowledge")).to_have_count(0)

    # Fewer NiFi nodes (and ZooKeeper down to one), with a history to time it by.
    ChangeRequest.objects.all().delete()
    _past_changes(sales, admin_user, [4, 6, 20])
    page.goto(f"/services/{sales.pk}/edit/")
    page.locator("#id_nifi_replica").fill("1")
    page.locator("#id_zookeeper_replica").fill("1")
    page.get_by_test_id("review").click()
    items = page.get_by_test_id("impact-item")
    expect(items).to_have_count(3)
    codes = [items.nth(i).get_attribute("data-code") for i in range(3)]
    assert codes == ["nifi_offload", "zookeeper_no_fault_tolerance", "duration"]
    if language == "en":
        expect(items.nth(0)).to_contain_text("1 NiFi node is removed")
        expect(items.nth(1)).to_contain_text("ZooKeeper loses its fault tolerance")
        expect(items.nth(2)).to_contain_text("of 3 past changes of this service")
    page.locator("#id_reason").fill("Fewer nodes for the quiet season")
    snap(page, f"impact-preview-{language}")

    # Confirmed without the box: refused on the server, nothing written, nothing sent.
    page.get_by_test_id("confirm").click()
    box = page.locator("#id_acknowledge_nifi_offload")
    expect(box).to_have_class(re.compile("is-invalid"))
    if language == "en":
        expect(page.get_by_test_id("acknowledge")).to_contain_text(
            "Nothing was sent: tick this box"
        )
    assert ChangeRequest.objects.filter(service=sales, status="queued").count() == 0
    assert puts(scp, sales) == []

    # Ticked: the change is confirmed.
    box.check()
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    change = ChangeRequest.objects.get(service=sales, status="queued")
    assert [e["field"] for e in change.diff] == [
        "workloads.nifi.replica",
        "workloads.zookeeper.replica",
    ]
