"""A team lead reviews the change history in the browser: filters it and exports it."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from console.dataflow.models import ChangeRequest
from tests.browser.conftest import sign_in, snap
from tests.conftest import PASSWORD
from tests.dataflow.helpers import add_alias, raise_memory, submit_edit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_filters_the_history_and_exports_it_without_any_edit_button(
    page: Page, scp, imported, admin_user, lead_user, enqueued
):
    memory = submit_edit(imported["sales-etl"], admin_user, raise_memory, reason="heap for ETL")
    alias = submit_edit(imported["iot-ingest"], admin_user, add_alias, reason="metrics host")
    ChangeRequest.objects.filter(pk=alias.pk).update(
        status=ChangeRequest.Status.FAILED,
        error={
            "code": "ValidationError",
            "message": "SCP refused the update.",
            "global_request_id": "req-0123456789abcdef0123456789abcdef",
        },
    )

    sign_in(page, lead_user.username, PASSWORD)
    page.get_by_test_id("nav-history").click()
    rows = page.get_by_test_id("history-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("history-table")).to_contain_text(
        "req-0123456789abcdef0123456789abcdef"
    )
    page.get_by_label("Status").select_option("queued")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("heap for ETL")
    expect(rows.first).to_contain_text("NiFi memory")
    snap(page, "lead-history")

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    table = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert table[0][:3] == ["Change", "Service", "When"]
    assert [row[0] for row in table[1:]] == [str(memory.pk)]

    page.get_by_role("link", name="sales-etl").first.click()
    expect(page.get_by_test_id("edit-service")).to_have_count(0)
    expect(page.get_by_test_id("edit-host-aliases")).to_have_count(0)
    expect(page.get_by_test_id("inflight")).to_contain_text(f"Change #{memory.pk}")
