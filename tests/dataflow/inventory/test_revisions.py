"""Revisions: who explains each one, outside changes, compare, revert, charts and time zones."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import re
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from console.dataflow.connections.clients import scp_client_for
from console.dataflow.inventory.revisions import (
    revert_desired,
    scp_modified_by,
    service_apply_detail,
)
from console.dataflow.models import ChangeRequest, ConfigRevision, Preference, Service
from console.dataflow.people.timezones import when_text
from console.scp import ServiceConfig
from tests.dataflow.helpers import submit_edit
from tests.dataflow.pages import diff_rows, drafts_in_session, page_text, row_counts

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status
Kind = ChangeRequest.Kind


def url(name: str, *args) -> str:
    return reverse(f"dataflow:{name}", args=args)


def scp_edit(service: Service, edit, *, raw: dict | None = None, modified=None) -> None:
    """Apply what SCP would report after `edit`, as a refresh (or a tracking poll) does."""
    service.refresh_from_db()
    detail = scp_client_for("default").get_service(service.scp_id)
    config = copy.deepcopy(service.config)
    edit(config)

    detail = dataclasses.replace(
        detail,
        config=ServiceConfig.from_dict(config),
        raw={**detail.raw, **(raw or {})},
        modified_dt=modified or detail.modified_dt,
    )
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        service_apply_detail(service=locked, detail=detail)
    service.refresh_from_db()


def set_nifi_cpu(cpu: int):
    def edit(config):
        config["workloads"]["nifi"]["cpu"] = cpu

    return edit


def set_description(text: str):
    def edit(config):
        config["description"] = text

    return edit


@pytest.fixture
def sales(imported) -> Service:
    return imported["sales-etl"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def lead(lead_user) -> Client:
    return client_for(lead_user)


@pytest.fixture
def admin(admin_user) -> Client:
    return client_for(admin_user)


# --- Changed outside the console ----------------------------------------------------------


def test_a_refresh_that_finds_a_new_config_records_an_outside_change(sales):
    old_cpu = sales.config["workloads"]["nifi"]["cpu"]
    when = datetime(2026, 11, 29, 11, 31, tzinfo=UTC)

    scp_edit(sales, set_nifi_cpu(old_cpu + 500), raw={"modified_by": "kim.dev"}, modified=when)

    [outside] = ChangeRequest.objects.filter(service=sales)
    assert outside.status == Status.OUTSIDE and outside.kind == Kind.OUTSIDE
    assert outside.is_final and outside.duration is None
    assert outside.author_name == "kim.dev" and outside.scp_modified_by == "kim.dev"
    assert outside.scp_modified_at == when and outside.created_at == when
    assert [e["field"] for e in outside.diff] == ["workloads.nifi.cpu"]
    assert outside.diff[0]["before"] == old_cpu
    assert outside.events.get().status == Status.OUTSIDE
    revision = ConfigRevision.objects.get(service=sales, revision=sales.config_revision)
    assert revision.change == outside


def test_an_outside_change_without_modified_by_is_by_outside_the_console(sales):
    scp_edit(sales, set_description("edited in SCP"))

    outside = ChangeRequest.objects.get(service=sales)
    assert outside.author_name == "outside the console"
    assert outside.scp_modified_by == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, ""),
        ({"modified_by": None}, ""),
        ({"modified_by": ""}, ""),
        ({"modified_by": " lee "}, "lee"),
        ({"modified_by": 12345}, "12345"),
        ({"modified_by": True}, ""),
        ({"modified_by": ["a"]}, ""),
        ({"modified_by": {"user_name": "park"}}, "park"),
        ({"modified_by": {"id": "u-1"}}, "u-1"),
        ({"modified_by": "x" * 300}, "x" * 150),
    ],
)
def test_modified_by_is_read_tolerantly(raw, expected):
    detail = type("Detail", (), {"raw": raw})()

    assert scp_modified_by(detail) == expected


def test_the_console_change_in_flight_explains_its_own_fields_only(sales, admin_user, enqueued):
    old_cpu = sales.config["workloads"]["nifi"]["cpu"]
    change = submit_edit(sales, admin_user, set_nifi_cpu(old_cpu + 1000))

    # SCP shows the console's edit: the console's own revision, no outside entry.
    scp_edit(sales, set_nifi_cpu(old_cpu + 1000))
    assert list(ChangeRequest.objects.filter(service=sales)) == [change]
    revision = ConfigRevision.objects.get(service=sales, revision=sales.config_revision)
    assert revision.change == change

    # Someone else changes the description while the change is still in flight.
    scp_edit(sales, set_description("edited in SCP meanwhile"))
    outside = ChangeRequest.objects.get(service=sales, kind=Kind.OUTSIDE)
    assert [e["field"] for e in outside.diff] == ["description"]


def test_a_field_the_console_asked_for_is_its_own_even_when_scp_applied_another_value(
    sales, admin_user, enqueued
):
    old_cpu = sales.config["workloads"]["nifi"]["cpu"]
    change = submit_edit(sales, admin_user, set_nifi_cpu(old_cpu + 1000))
    # Sent: SCP is applying it.
    ChangeRequest.objects.filter(pk=change.pk).update(
        status=Status.UPDATING, submitted_at=change.created_at
    )

    scp_edit(sales, set_nifi_cpu(old_cpu + 900))  # SCP rounded it: "Applied with differences"

    assert not ChangeRequest.objects.filter(kind=Kind.OUTSIDE).exists()
    revision = ConfigRevision.objects.get(service=sales, revision=sales.config_revision)
    assert revision.change == change


def test_the_first_import_records_no_outside_change(imported):
    assert not ChangeRequest.objects.exists()
    assert ConfigRevision.objects.filter(revision=1).count() == len(imported)


def test_outside_changes_stand_in_the_history_filter_and_csv(sales, lead):
    scp_edit(sales, set_description("edited in SCP"), raw={"modified_by": "kim.dev"})

    page = lead.get(url("history"), {"status": "outside"})
    export = lead.get(url("history"), {"format": "csv", "status": "outside"})

    assert [c.kind for c in page.context["page"].object_list] == [Kind.OUTSIDE]
    text = page_text(page)
    assert "Changed outside the console" in text and "kim.dev" in text
    content = b"".join(export.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    _, row = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert row[3] == "kim.dev"
    assert row[4] == "Outside the console"
    assert row[7].startswith("Description: ") and row[7].endswith(" → edited in SCP")
    assert row[8] == "Changed outside the console"
    assert row[11] == ""  # no duration: SCP says when, not how long


def test_the_service_page_shows_outside_changes_like_console_ones(sales, lead):
    scp_edit(sales, set_description("edited in SCP"), raw={"modified_by": "kim.dev"})

    text = page_text(lead.get(url("service-detail", sales.pk)))

    assert "Changed outside the console" in text
    assert "kim.dev" in text


def test_the_change_page_of_an_outside_change_offers_no_action(sales, admin):
    scp_edit(sales, set_description("edited in SCP"))
    outside = ChangeRequest.objects.get(kind=Kind.OUTSIDE)

    response = admin.get(outside.get_absolute_url())

    assert response.status_code == 200
    text = page_text(response)
    assert "Changed outside the console" in text
    assert 'data-testid="cancel"' not in text and 'data-testid="retry"' not in text


# --- Revisions and compare ----------------------------------------------------------------


def test_the_revisions_page_lists_each_revision_with_its_source(sales, lead):
    scp_edit(sales, set_description("edited in SCP"), raw={"modified_by": "kim.dev"})

    response = lead.get(url("service-revisions", sales.pk))

    assert response.status_code == 200
    text = page_text(response)
    assert "first import" in text and "kim.dev" in text
    assert 'data-testid="revert"' not in text  # a team lead changes nothing


def test_compare_defaults_to_the_newest_revision_and_the_one_before(sales, lead):
    cpu = sales.config["workloads"]["nifi"]["cpu"]
    scp_edit(sales, set_nifi_cpu(cpu + 500))
    scp_edit(sales, set_description("edited in SCP"))

    response = lead.get(url("service-compare", sales.pk))

    assert response.status_code == 200
    assert (response.context["older"], response.context["newer"]) == (2, 3)
    assert set(diff_rows(response)) == {"description"}


def test_compare_shows_units_as_the_edit_page_does(sales, lead):
    cpu = sales.config["workloads"]["nifi"]["cpu"]
    scp_edit(sales, set_nifi_cpu(cpu + 500))

    rows = diff_rows(lead.get(url("service-compare", sales.pk), {"from": 1, "to": 2}))

    text = rows["workloads.nifi.cpu"]["text"]
    assert f"{cpu} m ({(cpu) / 1000:g} vCPU)" in text
    assert f"{cpu + 500} m ({(cpu + 500) / 1000:g} vCPU)" in text


def test_compare_shows_host_aliases_per_row(sales, lead):
    def add(config):
        config["host_aliases"].append({"hostname": "metrics.internal.example", "ip": "10.0.0.9"})

    scp_edit(sales, add)

    rows = diff_rows(lead.get(url("service-compare", sales.pk)))

    assert rows["host_aliases.metrics.internal.example"]["kind"] == "added"


def test_compare_shows_a_password_set_between_revisions_only_as_changed(
    sales, lead, admin_user, enqueued
):
    change = submit_edit(
        sales, admin_user, set_description("with password"), password="N3w!Pass-w0rd"
    )
    scp_edit(sales, set_description("with password"))
    assert ConfigRevision.objects.get(service=sales, revision=2).change == change

    response = lead.get(url("service-compare", sales.pk))

    rows = diff_rows(response)
    assert "changed" in rows["account_password"]["text"]
    assert "N3w!Pass-w0rd" not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "abc"}, "'from' must be a revision number of sales-etl (r1 to r2); got 'abc'."),
        ({"to": "99"}, "Revision 99 is not on record for sales-etl; its revisions are r1 to r2."),
        ({"from": "0"}, "Revision 0 is not on record"),
        ({"from": "-1"}, "must be a revision number"),
        ({"from": "9" * 5000}, "must be a revision number"),
        ({"to": ""}, "must be a revision number"),
    ],
)
def test_bad_revision_numbers_get_a_clear_message(sales, lead, query, message):
    scp_edit(sales, set_description("edited in SCP"))

    response = lead.get(url("service-compare", sales.pk), query)

    assert response.status_code == 400
    assert message in page_text(response)


def test_another_services_revision_is_not_on_record_here(imported, lead):
    sales, iot = imported["sales-etl"], imported["iot-ingest"]
    scp_edit(iot, set_description("edited"))
    scp_edit(iot, set_description("edited again"))  # iot has r3, sales only r1

    response = lead.get(url("service-compare", sales.pk), {"from": 3})

    assert response.status_code == 400
    assert "Revision 3 is not on record for sales-etl" in page_text(response)


def test_compare_of_an_unknown_service_is_404(db, lead):
    assert lead.get(url("service-compare", 999999)).status_code == 404


def test_pages_of_revisions_need_a_role(sales, outsider):
    client = client_for(outsider)

    assert client.get(url("service-revisions", sales.pk)).status_code == 403
    assert client.get(url("service-compare", sales.pk)).status_code == 403


# --- Revert -------------------------------------------------------------------------------


def test_revert_desired_sets_back_only_the_fields_that_differ():
    current = {
        "account_id": "admin01",
        "description": "now",
        "domain": "d",
        "node_selector": "a=b",
        "host_alias_enabled": True,
        "host_aliases": [{"hostname": "new.example", "ip": "10.0.0.2"}],
        "workloads": {
            c: {"cpu": 1000, "memory": 2048, "replica": 1, "version": "1"}
            for c in ("nifi", "nifi_registry", "zookeeper")
        },
    }
    old = {**current, "description": "then", "host_aliases": [], "workloads": None}

    desired = revert_desired(current, old)

    assert desired["description"] == "then"
    assert desired["host_aliases"] == []
    assert desired["workloads"] == current["workloads"]  # not known then: kept as now
    assert desired["account_id"] == "admin01"


def test_admin_reverts_to_an_older_revision_through_the_review(sales, admin):
    cpu = sales.config["workloads"]["nifi"]["cpu"]
    description = sales.config["description"]
    scp_edit(sales, set_nifi_cpu(cpu + 500))
    scp_edit(sales, set_description("edited in SCP"))
    before = row_counts()

    response = admin.post(url("service-revert", sales.pk), {"revision": "1"})

    assert response.status_code == 302
    [draft] = drafts_in_session(admin).values()
    assert response.url == url("change-review", sales.pk, draft["id"])
    assert draft["base_revision"] == 3 and draft["base_config"] == sales.config
    assert draft["desired_config"]["workloads"]["nifi"]["cpu"] == cpu
    assert draft["desired_config"]["description"] == description
    assert row_counts() == before  # a revert writes nothing until it is confirmed
    review = admin.get(response.url)
    assert set(diff_rows(review)) == {"workloads.nifi.cpu", "description"}
    assert "Revert to revision 1." in page_text(review)


def test_a_revert_never_restores_a_password(sales, admin, admin_user, enqueued):
    submit_edit(sales, admin_user, set_description("pw"), password="N3w!Pass-w0rd")
    scp_edit(sales, set_description("pw"))
    ChangeRequest.objects.update(status=Status.SUCCEEDED)

    response = admin.post(url("service-revert", sales.pk), {"revision": "1"})

    [draft] = drafts_in_session(admin).values()
    review = admin.get(response.url)
    assert set(diff_rows(review)) == {"description"}
    assert "account_password" not in draft["desired_config"]


@pytest.mark.parametrize("role", ["lead_user", "support_user", "outsider"])
def test_only_admins_may_revert(sales, request, role):
    scp_edit(sales, set_description("edited in SCP"))
    client = client_for(request.getfixturevalue(role))
    before = row_counts()

    response = client.post(url("service-revert", sales.pk), {"revision": "1"})

    assert response.status_code == 403
    assert drafts_in_session(client) == {}
    assert row_counts() == before


@pytest.mark.parametrize("revision", ["", "abc", "99", "0"])
def test_a_revert_to_a_revision_not_on_record_says_so(sales, admin, revision):
    response = admin.post(url("service-revert", sales.pk), {"revision": revision}, follow=True)

    assert drafts_in_session(admin) == {}
    assert "sales-etl" in page_text(response)
    assert re.search(r"not on record|must be a revision number", page_text(response))


def test_a_revert_to_the_current_values_changes_nothing(sales, admin):
    response = admin.post(url("service-revert", sales.pk), {"revision": "1"}, follow=True)

    assert drafts_in_session(admin) == {}
    assert "already holds revision 1" in page_text(response)


def test_revert_is_post_only(sales, admin):
    assert admin.get(url("service-revert", sales.pk)).status_code == 405


def test_a_gone_service_cannot_be_reverted(sales, admin):
    scp_edit(sales, set_description("edited in SCP"))
    Service.objects.filter(pk=sales.pk).update(gone_at=datetime(2026, 1, 1, tzinfo=UTC))

    response = admin.post(url("service-revert", sales.pk), {"revision": "1"}, follow=True)

    assert drafts_in_session(admin) == {}
    assert "SCP no longer lists this service" in page_text(response)


# --- Charts -------------------------------------------------------------------------------


def test_the_service_page_draws_its_workloads_with_the_changes_marked(
    sales, lead, admin_user, enqueued
):
    cpu = sales.config["workloads"]["nifi"]["cpu"]
    submit_edit(sales, admin_user, set_nifi_cpu(cpu + 1000))
    scp_edit(sales, set_nifi_cpu(cpu + 1000))
    scp_edit(sales, set_description("edited in SCP"))

    html = lead.get(url("service-detail", sales.pk)).content.decode()

    figure = html[html.index('data-testid="service-chart"') :]
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-label="CPU, memory and replicas[^"]*3 ', html)
    assert "1 console change and 1 change outside the console marked" in html
    assert figure.count('data-mark="console"') == 1
    assert figure.count('data-mark="outside"') == 1
    assert "<figcaption" in figure
    assert 'class="visually-hidden" data-testid="service-chart-table"' in figure
    assert " style=" not in html  # the CSP refuses inline styles


def test_the_history_page_draws_changes_per_week_by_outcome(sales, lead):
    scp_edit(sales, set_description("edited in SCP"))

    html = lead.get(url("history")).content.decode()

    assert 'data-testid="weekly-chart"' in html
    assert re.search(r'role="img" aria-label="Changes per week by outcome, 1 week', html)
    assert 'data-outcome="outside"' in html
    assert 'data-testid="weekly-chart-table"' in html
    table = html[html.index('data-testid="weekly-chart-table"') :]
    assert '<th scope="col">Rejected</th>' in table[: table.index("</thead>")]
    assert " style=" not in html


# --- Time zones ---------------------------------------------------------------------------


def test_when_text_has_one_format_with_the_zone(settings):
    from django.utils import timezone

    moment = datetime(2026, 11, 29, 11, 31, 5, tzinfo=UTC)
    with timezone.override("Asia/Seoul"):
        assert when_text(moment) == "2026-11-29 20:31 KST"
        assert when_text(moment, seconds=True) == "2026-11-29 20:31:05 KST"
    assert when_text(None) == "—"


def test_a_person_picks_a_time_zone_and_every_date_follows(sales, lead_user):
    scp_edit(
        sales,
        set_description("edited in SCP"),
        modified=datetime(2026, 11, 29, 11, 31, tzinfo=UTC),
    )
    client = client_for(lead_user)

    response = client.post(url("preferences"), {"time_zone": "Asia/Seoul"})

    assert response.status_code == 302
    assert Preference.objects.get(user=lead_user).time_zone == "Asia/Seoul"
    assert "2026-11-29 20:31 KST" in page_text(client.get(url("history")))
    export = b"".join(client.get(url("history"), {"format": "csv"}).streaming_content).decode()
    assert "2026-11-29 20:31:00 KST" in export
    # A new session (another sign-in) reads the stored preference.
    again = client_for(lead_user)
    assert "2026-11-29 20:31 KST" in page_text(again.get(url("history")))
    assert "Asia/Seoul" in page_text(again.get(url("service-list")))


def test_an_unknown_time_zone_is_refused_and_nothing_is_stored(lead_user):
    client = client_for(lead_user)

    response = client.post(url("preferences"), {"time_zone": "Mars/Olympus"})

    assert response.status_code == 200
    assert "Choose a time zone from the list, e.g. Asia/Seoul; got 'Mars/Olympus'." in page_text(
        response
    )
    assert not Preference.objects.exists()


def test_preferences_need_a_sign_in(client):
    response = client.get(url("preferences"))

    assert response.status_code == 302
    assert "/accounts/login/" in response.url
