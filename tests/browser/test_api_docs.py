"""The API's docs page in a browser: Swagger UI runs from the console's own files under the
site's strict Content-Security-Policy, and a signed-in person tries an endpoint from it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_runs_under_the_strict_policy_and_tries_an_endpoint(
    page: Page, imported, lead_user
):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, lead_user.username, PASSWORD)

    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Data Flow Console API")
    operation = page.locator("#operations-services-services_list")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody td.response-col_status").first
    expect(status).to_have_text("200")
    assert violations == []
