"""Every page passes axe-core with no serious or critical violation, in English and Korean."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What blocks or badly slows a person using a screen reader, a keyboard or a magnifier.
BLOCKING = {"serious", "critical"}
WINDOW = {"width": 1280, "height": 900}


def _violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{page.url} {v['id']} ({v['impact']}): "
        + "; ".join(
            f"{', '.join(node['target'])} {[check['message'] for check in node.get('any', [])]}"
            for node in v["nodes"][:3]
        )
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def _pages(service, change) -> list[str]:
    return [
        "/",
        f"/services/{service.pk}/",
        f"/services/{service.pk}/edit/",
        f"/services/{service.pk}/host-aliases/",
        f"/services/{service.pk}/revisions/",
        f"/services/{service.pk}/compare/",
        f"/changes/{change.pk}/",
        "/history/",
        "/fleet/",
        "/fleet/new/",
        "/approvals/",
        "/me/",
        "/preferences/",
        "/connections/",
        "/no-such-page/",
    ]


@pytest.mark.parametrize(
    ("language", "theme"), [("en-US", "light"), ("ko-KR", "light"), ("en-US", "dark")]
)
def test_every_page_passes_axe_core(browser: Browser, live_server, imported, language, theme):
    from tests.dataflow.helpers import raise_memory, submit_edit

    root = get_user_model().objects.create_superuser("root", password=PASSWORD)
    service = imported["sales-etl"]
    change = submit_edit(service, root, raise_memory)
    context = browser.new_context(
        base_url=live_server.url, locale=language, color_scheme=theme, viewport=WINDOW
    )
    page = context.new_page()
    found: list[str] = []
    try:
        page.goto("/accounts/login/")
        found += _violations(page)
        page.locator("#id_username").fill("root")
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_test_id("sign-in").click()
        page.get_by_test_id("whoami").wait_for()
        for path in _pages(service, change):
            page.goto(path)
            page.wait_for_load_state("load")
            found += _violations(page)
        # The review page, from an edit of another service (sales-etl has a change in flight).
        other = next(service for name, service in imported.items() if name != "sales-etl")
        page.goto(f"/services/{other.pk}/edit/")
        memory = page.locator("#id_nifi_memory")
        memory.fill(str(int(memory.input_value()) + 1024))
        page.get_by_test_id("review").click()
        page.get_by_test_id("confirm").wait_for()
        found += _violations(page)
    finally:
        context.close()
    assert found == []
