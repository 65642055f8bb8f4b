"""The pages: who may open and post what, the edit form, the review, concurrency, changes."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from console.dataflow.changes.drafts import draft_save
from console.dataflow.changes.submit import change_submit
from console.dataflow.connections.clients import scp_client_for
from console.dataflow.inventory.revisions import service_apply_detail
from console.dataflow.models import ChangeEvent, ChangeRequest, ConfigRevision, Service, SyncRun
from console.simulator.seed import DEMO_PASSWORDS
from tests.dataflow.helpers import submit_edit
from tests.dataflow.pages import (
    INVALID_EDITS,
    change_row,
    diff_rows,
    drafts_in_session,
    edit_data,
    page_text,
    row_counts,
    visible_text,
)

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status

ROLES = ["admin_user", "lead_user", "support_user", "outsider"]
NEW_PASSWORD = "N3w!Secret-pw"


def url(name: str, *args) -> str:
    return reverse(f"dataflow:{name}", args=args)


@pytest.fixture
def sales(imported) -> Service:
    return imported["sales-etl"]


@pytest.fixture
def as_admin(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def sign_in(client: Client, request, role: str) -> Client:
    client.force_login(request.getfixturevalue(role))
    return client


def put_draft(
    client: Client, service: Service, kind: str = ChangeRequest.Kind.FULL, **desired_changes
) -> str:
    """A draft in the client's session, as a valid edit would have left it."""
    session = client.session
    draft = draft_save(
        session,
        service_id=service.pk,
        kind=kind,
        base_revision=service.config_revision,
        base_config=service.config,
        desired_config={**service.config, **desired_changes},
        new_password=None,
    )
    session.save()
    return draft.id


def post_edit(client: Client, service: Service, **changes) -> str:
    """Post a valid edit and return the review page it leads to."""
    response = client.post(url("service-edit", service.pk), edit_data(service, **changes))
    assert response.status_code == 302, page_text(response)
    assert "/review/" in response.url
    return response.url


def config_moves(service: Service, **changes) -> Service:
    """SCP reported a newer configuration: the next revision, as a sync would store it."""
    service.refresh_from_db()
    service.config = {**service.config, **changes}
    service.config_revision += 1
    service.save()
    ConfigRevision.objects.create(
        service=service, revision=service.config_revision, config=service.config
    )
    return service


# --- Who may open what --------------------------------------------------------------------


def pages_of(
    service: Service, change: ChangeRequest, draft_id: str, alias_draft_id: str
) -> dict[str, str]:
    return {
        "service list": url("service-list"),
        "service detail": url("service-detail", service.pk),
        "edit": url("service-edit", service.pk),
        "review": url("change-review", service.pk, draft_id),
        "host aliases": url("service-host-aliases", service.pk),
        "host alias review": url("change-review", service.pk, alias_draft_id),
        "change": url("change-detail", change.pk),
        "history": url("history"),
        "history csv": url("history") + "?format=csv",
    }


ALLOWED_PAGES = {
    "admin_user": {
        "service list",
        "service detail",
        "edit",
        "review",
        "host aliases",
        "host alias review",
        "change",
        "history",
        "history csv",
    },
    "lead_user": {"service list", "service detail", "change", "history", "history csv"},
    "support_user": {
        "service list",
        "service detail",
        "host aliases",
        "host alias review",
        "change",
        "history",
        "history csv",
    },
    "outsider": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_the_pages_the_roles_table_gives_it(
    client, request, sales, admin_user, role
):
    change = change_row(sales, admin_user, Status.QUEUED)
    sign_in(client, request, role)
    draft_id = put_draft(client, sales, description="a draft of this person")
    alias_draft_id = put_draft(client, sales, ChangeRequest.Kind.HOST_ALIASES, host_aliases=[])

    answers = {
        name: client.get(path).status_code
        for name, path in pages_of(sales, change, draft_id, alias_draft_id).items()
    }

    expected = {name: (200 if name in ALLOWED_PAGES[role] else 403) for name in answers}
    assert answers == expected


def test_anonymous_is_sent_to_the_login_page_from_every_page(client, sales, admin_user):
    change = change_row(sales, admin_user, Status.QUEUED)

    for name, path in pages_of(sales, change, "0" * 32, "1" * 32).items():
        response = client.get(path)
        assert response.status_code == 302, name
        assert response.url.startswith("/accounts/login/"), name


@pytest.mark.parametrize("role", ["lead_user", "support_user"])
def test_leads_and_support_can_never_reach_the_edit_or_review_pages(client, request, sales, role):
    sign_in(client, request, role)
    draft_id = put_draft(client, sales, domain="their-own")

    assert client.get(url("service-edit", sales.pk)).status_code == 403
    assert client.get(url("service-edit", sales.pk) + f"?draft={draft_id}").status_code == 403
    assert client.get(url("change-review", sales.pk, draft_id)).status_code == 403
    assert client.get(url("service-edit", 999999)).status_code == 403


def test_the_refusal_page_names_the_role(client, support_user, sales):
    client.force_login(support_user)

    response = client.get(url("service-edit", sales.pk))

    assert response.status_code == 403
    assert "Your role (Support) may not use this page." in page_text(response)


# --- Who may write what -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["lead_user", "support_user", "outsider"])
def test_roles_without_edit_rights_cannot_post_an_edit_and_nothing_is_written(
    client, request, sales, role
):
    sign_in(client, request, role)
    before = row_counts()

    response = client.post(url("service-edit", sales.pk), edit_data(sales, domain="hijacked"))

    assert response.status_code == 403
    assert row_counts() == before
    assert drafts_in_session(client) == {}


@pytest.mark.parametrize("role", ["lead_user", "support_user", "outsider"])
def test_roles_without_edit_rights_cannot_confirm_even_with_a_draft_in_their_session(
    client, request, sales, role
):
    sign_in(client, request, role)
    draft_id = put_draft(client, sales, domain="hijacked")
    before = row_counts()

    response = client.post(url("change-review", sales.pk, draft_id), {"reason": "sneaky"})

    assert response.status_code == 403
    assert row_counts() == before


@pytest.mark.parametrize("role", ["lead_user", "support_user", "outsider"])
def test_only_admins_may_cancel_a_change_of_someone_else(client, request, sales, admin_user, role):
    change = change_row(sales, admin_user, Status.QUEUED)
    sign_in(client, request, role)
    before = row_counts()

    response = client.post(url("change-cancel", change.pk))

    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert row_counts() == before


@pytest.mark.parametrize("role", ["lead_user", "support_user", "outsider"])
def test_only_admins_may_retry_a_failed_configuration_change(
    client, request, sales, admin_user, role
):
    change = change_row(sales, admin_user, Status.FAILED)
    sign_in(client, request, role)
    before = row_counts()

    response = client.post(url("change-retry", change.pk))

    assert response.status_code == 403
    assert drafts_in_session(client) == {}
    assert row_counts() == before


def test_a_person_without_a_role_cannot_refresh_from_scp(client, outsider, sales):
    client.force_login(outsider)
    before = row_counts()

    response = client.post(url("sync-request"))

    assert response.status_code == 403
    assert row_counts() == before


def test_an_admin_may_ask_for_a_refresh(client, request, sales):
    # Leads and support get 403 (tests/test_hardening.py).
    sign_in(client, request, "admin_user")
    before = SyncRun.objects.count()

    response = client.post(url("sync-request"))

    assert response.status_code == 302
    assert response.url == url("service-list")
    assert SyncRun.objects.count() == before + 1


def test_anonymous_posts_are_sent_to_the_login_page_and_write_nothing(client, sales, admin_user):
    change = change_row(sales, admin_user, Status.QUEUED)
    before = row_counts()

    for path, data in [
        (url("sync-request"), {}),
        (url("service-edit", sales.pk), edit_data(sales, domain="anonymous")),
        (url("change-review", sales.pk, "0" * 32), {"reason": "anonymous"}),
        (url("change-cancel", change.pk), {}),
    ]:
        response = client.post(path, data)
        assert response.status_code == 302, path
        assert response.url.startswith("/accounts/login/"), path

    assert row_counts() == before
    change.refresh_from_db()
    assert change.status == Status.QUEUED


def test_pages_refuse_methods_they_do_not_take(as_admin, sales, admin_user):
    change = change_row(sales, admin_user, Status.QUEUED)

    assert as_admin.get(url("change-cancel", change.pk)).status_code == 405
    assert as_admin.get(url("sync-request")).status_code == 405
    assert as_admin.post(url("history")).status_code == 405
    assert as_admin.delete(url("service-edit", sales.pk)).status_code == 405


# --- Navigation shows only what the role may use ------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees_history"),
    [("admin_user", True), ("lead_user", True), ("support_user", True), ("outsider", False)],
)
def test_change_history_link_shows_for_every_role_and_nobody_else(
    client, request, sales, role, sees_history
):
    sign_in(client, request, role)

    for path in (url("service-list"), url("service-detail", sales.pk)):
        html = client.get(path).content.decode()
        assert ('data-testid="nav-history"' in html) is sees_history
        assert ('data-testid="nav-services"' in html) is sees_history
        assert 'data-testid="nav-admin"' not in html  # none of them is staff


@pytest.mark.parametrize(
    ("role", "sees_edit"),
    [("admin_user", True), ("lead_user", False), ("support_user", False)],
)
def test_edit_button_shows_only_for_admins(client, request, sales, role, sees_edit):
    sign_in(client, request, role)

    html = client.get(url("service-detail", sales.pk)).content.decode()

    assert ('data-testid="edit-service"' in html) is sees_edit
    assert (url("service-edit", sales.pk) in html) is sees_edit


@pytest.mark.parametrize(
    ("role", "sees_cancel"),
    [("admin_user", True), ("lead_user", False), ("support_user", False)],
)
def test_cancel_button_shows_only_for_admins(client, request, sales, admin_user, role, sees_cancel):
    change = change_row(sales, admin_user, Status.QUEUED)
    sign_in(client, request, role)

    html = client.get(url("change-detail", change.pk)).content.decode()

    assert ('data-testid="cancel-change"' in html) is sees_cancel


def test_the_role_is_named_beside_the_person(client, lead_user, sales):
    client.force_login(lead_user)

    html = client.get(url("service-list")).content.decode()

    assert re.search(r'data-testid="role">Team leads<', html)


# --- CSRF ---------------------------------------------------------------------------------


def test_posts_without_a_csrf_token_are_refused_and_write_nothing(admin_user, sales):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    change = change_row(sales, admin_user, Status.QUEUED)
    draft_id = put_draft(client, sales, domain="no-token")
    before = row_counts()

    for path, data in [
        (url("sync-request"), {}),
        (url("service-edit", sales.pk), edit_data(sales, domain="no-token")),
        (url("change-review", sales.pk, draft_id), {"reason": "no token"}),
        (url("change-cancel", change.pk), {}),
        (url("change-retry", change.pk), {}),
    ]:
        response = client.post(path, data)
        assert response.status_code == 403, path
        assert b"CSRF" in response.content, path

    assert row_counts() == before
    assert list(drafts_in_session(client)) == [draft_id]
    change.refresh_from_db()
    assert change.status == Status.QUEUED


def test_posts_with_the_page_token_go_through(admin_user, sales):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    html = client.get(url("service-edit", sales.pk)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    response = client.post(
        url("service-edit", sales.pk),
        {**edit_data(sales, domain="with-token"), "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302


# --- The edit form ------------------------------------------------------------------------


def test_edit_form_is_prefilled_from_the_service_config(as_admin, sales):
    response = as_admin.get(url("service-edit", sales.pk))
    html = response.content.decode()

    def value_of(name: str) -> str | None:
        tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html).group(0)
        found = re.search(r'value="([^"]*)"', tag)
        return found.group(1) if found else None

    assert value_of("base_revision") == str(sales.config_revision)
    assert value_of("account_id") == "salesadmin"
    assert value_of("domain") == "sales"
    assert value_of("node_selector") == "nodepool=dataflow"
    assert value_of("nifi_cpu") == "4000"
    assert value_of("nifi_memory") == "8192"
    assert value_of("nifi_replica") == "2"
    assert value_of("zookeeper_replica") == "3"
    assert value_of("aliases-TOTAL_FORMS") == "3"
    assert value_of("aliases-0-hostname") == "erp-db.corp.internal"
    assert value_of("aliases-0-ip") == "10.10.1.21"
    assert value_of("aliases-2-hostname") == "dwh-replica.corp.internal"
    assert re.search(r'<input[^>]*name="host_alias_enabled"[^>]*checked', html)
    assert "매출 주문 데이터 ETL (ERP → DWH)" in page_text(response)
    assert re.search(r'<option value="1.27.1" selected>', html)


def test_edit_form_never_shows_a_password(as_admin, sales):
    html = as_admin.get(url("service-edit", sales.pk)).content.decode()

    tag = re.search(r'<input[^>]*name="account_password"[^>]*>', html).group(0)
    assert "value=" not in tag
    assert 'type="password"' in tag
    for password in DEMO_PASSWORDS.values():
        assert password not in html


def test_a_refused_edit_does_not_echo_the_typed_password(as_admin, sales):
    response = as_admin.post(
        url("service-edit", sales.pk),
        edit_data(sales, account_password=NEW_PASSWORD, domain="Bad_Domain"),
    )

    assert response.status_code == 200
    assert NEW_PASSWORD not in response.content.decode()
    assert NEW_PASSWORD not in page_text(response)


@pytest.mark.parametrize(
    ("changes", "message"),
    [pytest.param(changes, message, id=case) for case, changes, message in INVALID_EDITS],
)
def test_an_invalid_edit_is_shown_again_with_the_rule_and_nothing_is_written(
    as_admin, sales, changes, message
):
    before = row_counts()

    response = as_admin.post(url("service-edit", sales.pk), edit_data(sales, **changes))

    assert response.status_code == 200
    text = page_text(response)
    assert message in text
    assert "Some fields need attention" in text
    assert drafts_in_session(as_admin) == {}
    assert row_counts() == before


def test_a_21st_alias_on_a_service_with_20_is_refused(as_admin, imported):
    iot = imported["iot-ingest"]
    assert len(iot.config["host_aliases"]) == 20
    rows = [*iot.config["host_aliases"], {"hostname": "one-more.plant.internal", "ip": "10.20.9.9"}]

    response = as_admin.post(url("service-edit", iot.pk), edit_data(iot, aliases=rows))

    assert response.status_code == 200
    assert "SCP allows at most 20 host aliases; remove some rows." in page_text(response)
    assert drafts_in_session(as_admin) == {}


def test_a_version_the_data_flow_does_not_offer_is_refused_naming_the_offered_ones(
    as_admin, imported
):
    features = imported["ml-features"]

    response = as_admin.post(
        url("service-edit", features.pk), edit_data(features, nifi_version="2.0.0")
    )

    assert response.status_code == 200
    assert "Choose a version SCP offers for this data flow: 1.25.0, 1.27.1; got '2.0.0'." in (
        page_text(response)
    )


def test_an_upgrade_to_an_offered_version_goes_to_the_review(as_admin, imported):
    features = imported["ml-features"]

    review = post_edit(as_admin, features, nifi_version="1.27.1")

    rows = diff_rows(as_admin.get(review))
    assert list(rows) == ["workloads.nifi.version"]
    assert "1.25.0 → 1.27.1" in rows["workloads.nifi.version"]["text"]


HUGE = "9" * 100_000


def _without_management_form(data: dict) -> dict:
    return {k: v for k, v in data.items() if not k.startswith("aliases-")}


JUNK = [
    pytest.param(lambda full: {}, id="empty-post"),
    pytest.param(lambda full: {"domain": "sales"}, id="one-field-only"),
    pytest.param(_without_management_form, id="management-form-missing"),
    pytest.param(lambda full: {**full, "aliases-TOTAL_FORMS": "9999"}, id="row-count-9999"),
    pytest.param(lambda full: {**full, "aliases-TOTAL_FORMS": "-1"}, id="row-count-negative"),
    pytest.param(lambda full: {**full, "aliases-TOTAL_FORMS": "x"}, id="row-count-not-a-number"),
    pytest.param(lambda full: {**full, "aliases-TOTAL_FORMS": HUGE}, id="row-count-huge"),
    pytest.param(lambda full: {**full, "base_revision": "abc"}, id="base-revision-not-a-number"),
    pytest.param(lambda full: {**full, "base_revision": "-3"}, id="base-revision-negative"),
    pytest.param(lambda full: {**full, "base_revision": HUGE}, id="base-revision-huge"),
    pytest.param(lambda full: {**full, "nifi_cpu": HUGE}, id="cpu-huge"),
    pytest.param(lambda full: {**full, "nifi_cpu": "four"}, id="cpu-not-a-number"),
    pytest.param(lambda full: {**full, "nifi_memory": "NaN"}, id="memory-nan"),
    pytest.param(lambda full: {**full, "zookeeper_replica": "1.5"}, id="replica-fraction"),
    pytest.param(lambda full: {**full, "description": "x" * 500_000}, id="description-huge"),
    pytest.param(lambda full: {**full, "domain": "도메인"}, id="domain-unicode"),
    pytest.param(lambda full: {**full, "node_selector": "노드=풀"}, id="node-selector-unicode"),
    pytest.param(
        lambda full: {**full, "aliases-0-hostname": "호스트.internal"}, id="hostname-unicode"
    ),
    pytest.param(lambda full: {**full, "aliases-0-ip": "::ffff:zz"}, id="ip-garbage"),
    pytest.param(lambda full: {**full, "account_id": "nul\x00admin"}, id="null-character"),
    pytest.param(lambda full: {**full, "nifi_version": HUGE}, id="version-huge"),
]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_posts_never_fail_and_write_nothing(as_admin, sales, junk):
    before = row_counts()

    response = as_admin.post(url("service-edit", sales.pk), junk(edit_data(sales)))

    assert response.status_code == 200
    assert "Some fields need attention" in page_text(response)
    assert drafts_in_session(as_admin) == {}
    assert row_counts() == before


def test_a_form_whose_base_revision_was_lost_says_to_reload(as_admin, sales):
    response = as_admin.post(
        url("service-edit", sales.pk), edit_data(sales, base_revision="abc", domain="sales-v2")
    )

    assert response.status_code == 200
    assert "reload the page" in page_text(response)


def test_unchanged_values_say_nothing_changed_and_write_nothing(as_admin, sales):
    before = row_counts()

    response = as_admin.post(url("service-edit", sales.pk), edit_data(sales))

    assert response.status_code == 200
    assert "Nothing changed: edit at least one field to continue." in page_text(response)
    assert drafts_in_session(as_admin) == {}
    assert row_counts() == before


def test_a_valid_edit_keeps_a_draft_and_opens_the_review_without_writing_a_change(as_admin, sales):
    before = row_counts()

    review = post_edit(as_admin, sales, domain="sales-v2", account_password=NEW_PASSWORD)

    [draft] = drafts_in_session(as_admin).values()
    assert review == url("change-review", sales.pk, draft["id"])
    assert draft["desired_config"]["domain"] == "sales-v2"
    assert NEW_PASSWORD not in repr(draft)  # kept encrypted
    assert row_counts() == before


# --- The review page ----------------------------------------------------------------------


def full_edit(sales: Service) -> dict:
    """One change in every section: account, network, host aliases, workloads, description."""
    return {
        "account_id": "salesops01",
        "account_password": NEW_PASSWORD,
        "domain": "sales-v2",
        "node_selector": "nodepool=dataflow-big",
        "host_alias_enabled": False,
        "aliases": [
            {"hostname": "erp-db.corp.internal", "ip": "10.10.1.22"},
            {"hostname": "dwh.corp.internal", "ip": "10.10.1.40"},
            {"hostname": "dwh-replica.corp.internal", "ip": "10.10.1.40", "DELETE": True},
            {"hostname": "metrics.corp.internal", "ip": "10.10.1.50"},
        ],
        "nifi_memory": 16384,
        "description": "Sales ETL with a bigger heap",
    }


def test_review_lists_exactly_the_changed_fields_with_before_and_after(as_admin, sales):
    response = as_admin.get(post_edit(as_admin, sales, **full_edit(sales)), follow=True)

    assert response.status_code == 200
    rows = diff_rows(response)
    assert list(rows) == [
        "account_password",
        "account_id",
        "domain",
        "node_selector",
        "host_alias_enabled",
        "host_aliases.dwh-replica.corp.internal",
        "host_aliases.erp-db.corp.internal",
        "host_aliases.metrics.corp.internal",
        "workloads.nifi.memory",
        "description",
    ]
    assert "salesadmin → salesops01" in rows["account_id"]["text"]
    assert "sales → sales-v2" in rows["domain"]["text"]
    assert "nodepool=dataflow → nodepool=dataflow-big" in rows["node_selector"]["text"]
    assert "Host aliases on → off" in rows["host_alias_enabled"]["text"]
    assert rows["host_aliases.erp-db.corp.internal"]["kind"] == "changed"
    assert "10.10.1.21 → 10.10.1.22" in rows["host_aliases.erp-db.corp.internal"]["text"]
    assert rows["host_aliases.dwh-replica.corp.internal"]["kind"] == "removed"
    assert "10.10.1.40 → —" in rows["host_aliases.dwh-replica.corp.internal"]["text"]
    assert rows["host_aliases.metrics.corp.internal"]["kind"] == "added"
    assert "— → 10.10.1.50" in rows["host_aliases.metrics.corp.internal"]["text"]
    assert "8192 MiB (8 GiB) → 16384 MiB (16 GiB)" in rows["workloads.nifi.memory"]["text"]
    assert (
        "매출 주문 데이터 ETL (ERP → DWH) → Sales ETL with a bigger heap"
        in (rows["description"]["text"])
    )
    assert rows["account_password"]["text"] == "Password changed (never shown)"
    text = page_text(response)
    assert (
        "10 changes: 2 in Account, 3 in Network, 3 in Host aliases, 1 in Workloads, "
        "1 in Description. Everything else stays as it is." in text
    )
    badges = re.findall(
        r'data-testid="diff-section">([^<]+)<span[^>]*>(\d+)</span>', response.content.decode()
    )
    assert [(name.strip(), int(n)) for name, n in badges] == [
        ("Account", 2),
        ("Network", 3),
        ("Host aliases", 3),
        ("Workloads", 1),
        ("Description", 1),
    ]


def test_review_never_shows_the_new_password(as_admin, sales):
    response = as_admin.get(post_edit(as_admin, sales, account_password=NEW_PASSWORD))

    assert NEW_PASSWORD not in response.content.decode()
    assert list(diff_rows(response)) == ["account_password"]
    for password in DEMO_PASSWORDS.values():
        assert password not in response.content.decode()


def test_the_documented_precheck_answer_gives_no_verdict_and_does_not_block(as_admin, sales, scp):
    # SCP documents one answer: {"cpu": "CPU", "err_code": "", "memory": "Memory", "result": ""}
    response = as_admin.get(post_edit(as_admin, sales, nifi_memory=16384))

    text = page_text(response)
    assert "SCP's pre-check gave no verdict" in text
    assert "CPU m" not in text and "Memory MiB" not in text  # labels are never shown as numbers
    assert re.search(r'data-testid="confirm"\s*>', response.content.decode())
    checks = [r for r in scp.requests() if r["path"].endswith("/validate-resources")]
    assert len(checks) == 1


def test_a_clear_yes_from_the_precheck_is_shown(as_admin, sales, scp):
    scp.fault(sales.scp_id, precheck="yes")

    response = as_admin.get(post_edit(as_admin, sales, nifi_memory=16384))

    assert "SCP's pre-check confirms the cluster can take these workloads." in page_text(response)
    assert re.search(r'data-testid="confirm"\s*>', response.content.decode())


def test_a_clear_no_from_the_precheck_disables_confirm_and_a_confirm_post_is_refused(
    as_admin, sales, scp
):
    scp.fault(sales.scp_id, precheck="no")
    review = post_edit(as_admin, sales, nifi_cpu=64000, nifi_replica=10)
    before = row_counts()

    response = as_admin.get(review)

    text = page_text(response)
    assert "SCP's pre-check says the cluster cannot take these workloads" in text
    assert re.search(r'data-testid="confirm"\s+disabled', response.content.decode())

    response = as_admin.post(review, {"reason": "more power"})

    assert response.status_code == 200
    assert "SCP's pre-check failed; change the workloads first." in page_text(response)
    assert row_counts() == before


def test_a_change_without_workload_edits_needs_no_precheck(as_admin, sales, scp):
    scp.clear_requests()

    response = as_admin.get(post_edit(as_admin, sales, description="only words"))

    assert "Workloads unchanged: no pre-check." in page_text(response)
    assert not [r for r in scp.requests() if r["path"].endswith("/validate-resources")]


def test_a_precheck_that_cannot_reach_scp_says_so_without_blocking(as_admin, sales, scp):
    review = post_edit(as_admin, sales, nifi_memory=16384)
    scp.fault(sales.scp_id, fail_next=10, fail_status=503)

    response = as_admin.get(review)

    assert "SCP's pre-check gave no verdict: SCP is unavailable" in page_text(response)
    assert re.search(r'data-testid="confirm"\s*>', response.content.decode())


def test_confirm_with_a_reason_queues_exactly_one_change(as_admin, admin_user, sales):
    review = post_edit(as_admin, sales, domain="sales-v2", account_password=NEW_PASSWORD)
    as_admin.get(review)

    response = as_admin.post(review, {"reason": "Move to the new domain (OPS-42)"})

    [change] = ChangeRequest.objects.all()
    assert response.status_code == 302
    assert response.url == url("change-detail", change.pk)
    assert change.status == Status.QUEUED
    assert change.author == admin_user
    assert change.author_name == admin_user.get_username()
    assert change.reason == "Move to the new domain (OPS-42)"
    assert [e["field"] for e in change.diff] == ["account_password", "domain"]
    assert change.password_changed is True
    assert NEW_PASSWORD not in change.account_password_encrypted
    assert [e.status for e in change.events.all()] == [Status.QUEUED]
    assert drafts_in_session(as_admin) == {}
    page = as_admin.get(response.url)
    assert f"Change #{change.pk} confirmed." in page_text(page)
    assert "queued for SCP" not in page_text(page)  # the live status says where it is now
    assert NEW_PASSWORD not in page.content.decode()


@pytest.mark.parametrize("data", [{"reason": ""}, {"reason": "   "}, {}])
def test_confirm_without_a_reason_asks_for_one_and_writes_nothing(as_admin, sales, data):
    review = post_edit(as_admin, sales, domain="sales-v2")
    as_admin.get(review)
    before = row_counts()

    response = as_admin.post(review, data)

    assert response.status_code == 200
    assert "This field is required." in page_text(response)
    assert row_counts() == before
    assert len(drafts_in_session(as_admin)) == 1


def test_back_to_the_form_prefills_the_edited_values(as_admin, sales):
    review = post_edit(
        as_admin,
        sales,
        domain="sales-v2",
        nifi_memory=16384,
        account_password=NEW_PASSWORD,
        aliases=[{"hostname": "erp-db.corp.internal", "ip": "10.10.1.99"}],
    )
    draft_id = review.rstrip("/").rsplit("/", 1)[1]
    back = as_admin.get(review).content.decode()
    assert f'href="{url("service-edit", sales.pk)}?draft={draft_id}"' in back

    response = as_admin.get(url("service-edit", sales.pk) + f"?draft={draft_id}")

    html = response.content.decode()
    assert re.search(r'name="domain"[^>]*value="sales-v2"', html)
    assert re.search(r'name="nifi_memory"[^>]*value="16384"', html)
    assert re.search(r'name="aliases-0-ip"[^>]*value="10.10.1.99"', html)
    assert re.search(r'name="aliases-TOTAL_FORMS"[^>]*value="1"', html)
    assert NEW_PASSWORD not in html
    assert "type it again to keep it" in page_text(response)


def test_a_foreign_or_expired_draft_goes_back_to_the_edit_page_with_a_message(
    client, as_admin, sales, imported, django_user_model
):
    other = Client()
    other.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "x"))
    foreign = put_draft(other, sales, domain="someone-else")
    own_of_other_service = put_draft(as_admin, imported["iot-ingest"], domain="iot-v2")
    before = row_counts()

    for draft_id in (foreign, own_of_other_service, "expired0000", "x" * 300, "..%2f.."):
        for method in (as_admin.get, as_admin.post):
            response = method(url("change-review", sales.pk, draft_id), {"reason": "r"})
            assert response.status_code == 302, draft_id
            assert response.url == url("service-edit", sales.pk)
        page = as_admin.get(response.url)
        assert "That review is no longer available; start the edit again." in page_text(page)

    assert row_counts() == before


def test_a_draft_of_an_unknown_id_leaves_the_form_as_the_service_is(as_admin, sales):
    response = as_admin.get(url("service-edit", sales.pk) + "?draft=nope")

    assert response.status_code == 200
    assert re.search(r'name="domain"[^>]*value="sales"', response.content.decode())


# --- Optimistic concurrency ---------------------------------------------------------------


def test_an_edit_opened_on_an_older_config_goes_to_the_review_with_only_my_edit(as_admin, sales):
    html = as_admin.get(url("service-edit", sales.pk)).content.decode()
    opened_on = re.search(r'name="base_revision" value="(\d+)"', html).group(1)
    data = edit_data(sales, nifi_memory=16384, base_revision=opened_on)
    config_moves(sales, domain="sales-moved")
    before = row_counts()

    response = as_admin.post(url("service-edit", sales.pk), data)

    assert response.status_code == 302
    review = as_admin.get(response.url)
    assert set(diff_rows(review)) == {"workloads.nifi.memory"}
    html = review.content.decode()
    stale = re.search(r'data-testid="stale">.*?</table>', html, re.S).group(0)
    assert 'data-field="domain"' in stale
    assert "sales-moved" in stale
    assert "outside the console, seen by a refresh from SCP" in page_text(review)
    [draft] = drafts_in_session(as_admin).values()
    assert draft["base_revision"] == int(opened_on) + 1
    assert draft["desired_config"]["domain"] == "sales-moved"
    assert row_counts() == before


def test_an_edit_posted_after_a_sync_stored_a_newer_config_keeps_the_newer_values(as_admin, sales):
    data = edit_data(sales, description="my edit")
    detail = scp_client_for("default").get_service(sales.scp_id)
    newer = dataclasses.replace(
        detail, config=dataclasses.replace(detail.config, node_selector="nodepool=moved")
    )
    with transaction.atomic():
        assert service_apply_detail(service=Service.objects.get(pk=sales.pk), detail=newer)

    response = as_admin.post(url("service-edit", sales.pk), data)

    assert response.status_code == 302
    review = as_admin.get(response.url)
    assert set(diff_rows(review)) == {"description"}
    assert 'data-testid="stale"' in review.content.decode()
    assert "nodepool=moved" in page_text(review)
    [draft] = drafts_in_session(as_admin).values()
    assert draft["desired_config"]["node_selector"] == "nodepool=moved"
    # Nothing submitted; the sync recorded the node selector as changed outside the console.
    assert ChangeRequest.objects.exclude(kind=ChangeRequest.Kind.OUTSIDE).count() == 0


def test_confirm_is_refused_when_the_config_moved_after_the_review_opened(as_admin, sales):
    review = post_edit(as_admin, sales, description="my edit")
    as_admin.get(review)
    config_moves(sales, domain="sales-moved")
    before = row_counts()

    response = as_admin.post(review, {"reason": "late"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="stale"' in html
    assert "sales-moved" in page_text(response)
    assert row_counts() == before


def test_editing_again_after_a_stale_confirm_keeps_my_edits_on_the_newer_config(as_admin, sales):
    review = post_edit(as_admin, sales, description="my edit")
    as_admin.get(review)
    config_moves(sales, domain="sales-moved")
    stale = as_admin.post(review, {"reason": "late"}).content.decode()
    again = re.search(r'href="([^"]+)" data-testid="back-to-form"', stale)

    html = as_admin.get(again.group(1).replace("&amp;", "&")).content.decode()

    assert re.search(r'name="domain"[^>]*value="sales-moved"', html)
    assert "my edit" in html
    sales.refresh_from_db()
    assert re.search(rf'name="base_revision" value="{sales.config_revision}"', html)


# --- One change in flight -----------------------------------------------------------------


def test_confirm_is_refused_while_another_change_is_in_flight(
    as_admin, admin_user, sales, enqueued
):
    first = submit_edit(sales, admin_user, lambda c: c.update(description="first"))
    review = post_edit(as_admin, sales, domain="sales-v2")
    page = as_admin.get(review)
    assert f"Change #{first.pk} of this service is still Queued" in visible_text(page)
    before = row_counts()

    response = as_admin.post(review, {"reason": "second"})

    assert response.status_code == 200
    assert f"Change #{first.pk} of this service is still Queued; wait until it is final." in (
        page_text(response)
    )
    assert row_counts() == before


def test_the_database_itself_refuses_a_second_in_flight_change(admin_user, sales):
    change_row(sales, admin_user, Status.ACCEPTED)
    change_row(sales, admin_user, Status.SUCCEEDED)
    change_row(sales, admin_user, Status.FAILED)

    with pytest.raises(IntegrityError), transaction.atomic():
        change_row(sales, admin_user, Status.QUEUED)

    assert ChangeRequest.objects.filter(status__in=["queued", "accepted"]).count() == 1


def test_a_race_past_the_in_flight_check_is_told_as_a_change_in_flight(
    admin_user, sales, monkeypatch
):
    from console.dataflow.changes.plan import change_plan
    from console.dataflow.changes.submit import ChangeInFlight
    from console.scp import ServiceConfig

    first = submit_edit(sales, admin_user, lambda c: c.update(description="first"))
    plan = change_plan(
        service=sales,
        desired=ServiceConfig.from_dict({**sales.config, "domain": "sales-v2"}),
        password_changed=False,
    )
    # Let the view's look-up miss the first change, as a concurrent request could.
    real_filter = type(sales.changes).filter

    def blind_filter(self, *args, **kwargs):
        if kwargs.get("status__in"):
            return ChangeRequest.objects.none()
        return real_filter(self, *args, **kwargs)

    monkeypatch.setattr(type(sales.changes), "filter", blind_filter)

    with pytest.raises(ChangeInFlight, match="submitted a moment ago"):
        change_submit(plan=plan, author=admin_user, reason="second")

    assert list(ChangeRequest.objects.all()) == [first]


# --- The change page ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [s.value for s in Status])
def test_the_change_page_renders_every_status(as_admin, admin_user, sales, status):
    change = change_row(sales, admin_user, status)

    response = as_admin.get(url("change-detail", change.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-status="{status}"' in html
    assert str(Status(status).label) in page_text(response)
    assert "Planned maintenance" in html
    assert list(diff_rows(response)) == ["description"]
    assert ('hx-trigger="every' in html) is (
        status in ("awaiting_approval", "scheduled", "queued", "submitting", "accepted", "updating")
    )


def test_a_failed_change_shows_what_scp_answered_with_its_global_request_id(
    as_admin, admin_user, sales
):
    change = change_row(
        sales,
        admin_user,
        Status.FAILED,
        error={
            "kind": "ScpInvalidInput",
            "status": 400,
            "code": "ValidationError",
            "detail": "service_workload.nifi.version: 9.9.9 is not offered",
            "details": ["service_workload.nifi.version: 9.9.9 is not offered"],
            "global_request_id": "req-7f3a9c2e",
            "message": "SCP refused the update: the request is invalid.",
        },
    )

    response = as_admin.get(url("change-detail", change.pk))

    text = page_text(response)
    assert "SCP refused the update: the request is invalid." in text
    assert "ValidationError" in text
    assert "HTTP 400" in text
    assert "service_workload.nifi.version: 9.9.9 is not offered" in text
    assert re.search(r'data-testid="global-request-id">req-7f3a9c2e<', response.content.decode())


def test_a_change_applied_with_differences_lists_them(as_admin, admin_user, sales):
    change = change_row(
        sales,
        admin_user,
        Status.DIFFERENT,
        differences=[
            {
                "section": "Workloads",
                "field": "workloads.nifi.memory",
                "label": "NiFi memory",
                "kind": "changed",
                "before": 16384,
                "after": 8192,
                "before_display": "16384 MiB (16 GiB)",
                "after_display": "8192 MiB (8 GiB)",
                "secret": False,
            }
        ],
    )

    response = as_admin.get(url("change-detail", change.pk))

    differences = re.search(
        r'data-testid="differences">.*?</table>', response.content.decode(), re.S
    ).group(0)
    assert "NiFi memory" in differences
    assert "16384 MiB (16 GiB)" in differences and "8192 MiB (8 GiB)" in differences


def test_a_final_change_fragment_stops_polling_and_an_in_flight_one_keeps_it(
    as_admin, admin_user, sales, imported
):
    final = change_row(sales, admin_user, Status.SUCCEEDED)
    in_flight = change_row(imported["iot-ingest"], admin_user, Status.UPDATING)
    htmx = {"HX-Request": "true"}

    done = as_admin.get(url("change-detail", final.pk), headers=htmx).content.decode()
    going = as_admin.get(url("change-detail", in_flight.pk), headers=htmx).content.decode()

    assert done.lstrip().startswith('<div id="change-live"')  # the fragment, not the page
    assert "<html" not in done
    assert "hx-trigger" not in done
    assert 'hx-trigger="every' in going
    assert f'hx-get="{url("change-detail", in_flight.pk)}"' in going


def test_the_password_row_of_a_change_shows_only_that_it_changed(
    as_admin, admin_user, sales, enqueued
):
    change = submit_edit(sales, admin_user, lambda c: None, password=NEW_PASSWORD)

    response = as_admin.get(url("change-detail", change.pk))

    assert NEW_PASSWORD not in response.content.decode()
    assert diff_rows(response)["account_password"]["text"] == "Password changed (never shown)"


def test_an_admin_cancels_a_queued_change(as_admin, admin_user, sales):
    change = change_row(sales, admin_user, Status.QUEUED)

    response = as_admin.post(url("change-cancel", change.pk), follow=True)

    change.refresh_from_db()
    assert change.status == Status.CANCELLED
    assert change.finished_at is not None
    assert [(e.status, e.message) for e in change.events.all()] == [
        (Status.CANCELLED, f"Cancelled by {admin_user.get_username()}.")
    ]
    assert f"Change #{change.pk} is cancelled; nothing was sent to SCP." in page_text(response)
    assert 'data-testid="cancel-change"' not in response.content.decode()


def test_support_may_withdraw_its_own_queued_host_alias_change(client, support_user, sales):
    change = change_row(sales, support_user, Status.QUEUED, kind=ChangeRequest.Kind.HOST_ALIASES)
    client.force_login(support_user)

    page = client.get(url("change-detail", change.pk)).content.decode()
    response = client.post(url("change-cancel", change.pk), follow=True)

    assert 'data-testid="cancel-change"' in page
    change.refresh_from_db()
    assert change.status == Status.CANCELLED
    assert f"Change #{change.pk} is cancelled" in page_text(response)


def test_an_admin_cannot_cancel_a_change_scp_accepted(as_admin, admin_user, sales):
    change = change_row(sales, admin_user, Status.ACCEPTED)

    response = as_admin.post(url("change-cancel", change.pk), follow=True)

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED
    assert change.finished_at is None
    assert not ChangeEvent.objects.filter(change=change).exists()
    assert f"Change #{change.pk} is already on its way and cannot be cancelled." in (
        page_text(response)
    )


def test_unknown_services_and_changes_are_404_for_those_who_may_see_them(as_admin):
    assert as_admin.get(url("service-detail", 999999)).status_code == 404
    assert as_admin.get(url("service-edit", 999999)).status_code == 404
    assert as_admin.get(url("change-detail", 999999)).status_code == 404
    assert as_admin.post(url("change-cancel", 999999)).status_code == 404


def test_service_page_shows_the_configuration_in_readable_units_and_links_in_new_tabs(
    client, scp, imported, lead_user
):
    service = imported["sales-etl"]
    client.force_login(lead_user)
    html = client.get(f"/services/{service.pk}/").content.decode()

    nifi = service.config["workloads"]["nifi"]
    assert f"{nifi['cpu'] / 1000:g} vCPU" in html
    assert f"{nifi['memory'] / 1024:g} GiB" in html
    assert f'href="{service.web_url_nifi}" target="_blank" rel="noopener noreferrer"' in html
    assert f'href="{service.web_url_registry}" target="_blank"' in html
    for alias in service.config["host_aliases"]:
        assert alias["hostname"] in html
    assert "never shown" in html  # the password row says so, and shows nothing


@pytest.mark.parametrize("four_eyes", [False, True])
def test_the_review_says_what_confirming_will_do(as_admin, sales, settings, four_eyes):
    settings.SCP_NEEDS_APPROVAL = four_eyes
    review = post_edit(as_admin, sales, domain="sales-v2")
    text = page_text(as_admin.get(review))
    if four_eyes:
        assert "Confirm; a team lead approves before it is sent" in text
        assert "a team lead or another admin (never you) approves the change" in text
        assert "Confirm and send to SCP" not in text
    else:
        assert "Confirm and send to SCP" in text
        assert "approves before it is sent" not in text
