"""In Chromium with a Korean browser: an admin makes a change end to end and reads Korean."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import snap
from tests.conftest import PASSWORD
from tests.notify_servers import catalogue_compile

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def korean_page(browser: Browser, live_server) -> Iterator[Page]:
    """A browser whose language is Korean (Accept-Language: ko-KR), kept off the network."""
    catalogue_compile()
    context = browser.new_context(
        base_url=live_server.url, locale="ko-KR", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.route(lambda url: not url.startswith(live_server.url), lambda route: route.abort())
    yield page
    context.close()


def _korean(page: Page) -> None:
    """The page is declared Korean."""
    expect(page.locator("html")).to_have_attribute("lang", "ko")


def test_an_admin_changes_a_service_in_korean_from_edit_to_succeeded(
    korean_page: Page, celery_worker, scp, imported, admin_user
):
    page = korean_page
    service = imported["sales-etl"]
    memory = service.config["workloads"]["nifi"]["memory"] * 2

    page.goto("/accounts/login/")
    _korean(page)
    expect(page.locator("h1")).to_have_text("로그인")
    page.locator("#id_username").fill(admin_user.username)
    page.locator("#id_password").fill(PASSWORD)
    expect(page.get_by_test_id("sign-in")).to_have_text("로그인")
    page.get_by_test_id("sign-in").click()

    _korean(page)
    expect(page.locator("h1")).to_have_text("Data Flow 서비스")
    expect(page.get_by_test_id("nav-services")).to_have_text(re.compile("서비스"))
    expect(page.get_by_test_id("logout")).to_have_text(re.compile("로그아웃"))
    snap(page, "ko-0-services")
    page.get_by_role("link", name="sales-etl").click()

    _korean(page)
    expect(page.get_by_test_id("edit-service")).to_have_text(re.compile("구성 수정"))
    expect(page.locator(".card-header", has_text="워크로드").first).to_be_visible()
    snap(page, "ko-1-service")
    page.get_by_test_id("edit-service").click()

    _korean(page)
    expect(page.locator("h1")).to_have_text("sales-etl 서비스 수정")
    expect(page.locator("legend", has_text="호스트 별칭")).to_be_visible()
    page.locator("#id_nifi_memory").fill(str(memory))
    expect(page.get_by_test_id("review")).to_have_text(re.compile("변경 검토"))
    snap(page, "ko-2-edit")
    page.get_by_test_id("review").click()

    _korean(page)
    expect(page.locator("h1")).to_have_text("sales-etl 서비스 변경 검토")
    expect(page.get_by_test_id("diff-summary")).to_contain_text("변경 1건")
    expect(page.get_by_test_id("diff-summary")).to_contain_text("나머지는 그대로 유지됩니다.")
    expect(page.locator("thead").first).to_contain_text("변경 전")
    expect(page.get_by_test_id("precheck")).to_contain_text("리소스 사전 점검")
    expect(page.get_by_test_id("confirm")).to_have_text(re.compile("확정하고 SCP로 전송"))
    page.locator("#id_reason").fill("야간 적재를 위한 힙 증설; TICKET-42")
    snap(page, "review-ko")
    page.get_by_test_id("confirm").click()

    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    _korean(page)
    expect(page.locator("h1")).to_contain_text("sales-etl 서비스의 변경 #")
    expect(page.get_by_test_id("change-status")).to_have_text("성공", timeout=30_000)
    expect(page.locator(".card-header", has_text="진행 기록")).to_be_visible()
    expect(page.locator(".card-header", has_text="변경 내용")).to_be_visible()
    timeline = page.get_by_test_id("timeline")
    for status in ("대기 중", "전송 중", "접수됨", "성공"):
        expect(timeline).to_contain_text(status)
    expect(page.get_by_test_id("reason")).to_contain_text("야간 적재")
    snap(page, "ko-3-succeeded")
