"""The JSON API, endpoint by endpoint and role by role: the pages' rules, nothing more."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from console.dataflow.models import ApiOrigin, ApiPlan, ApiToken, ChangeRequest
from console.dataflow.people.tokens import token_create, token_revoke
from tests.api.conftest import client_for
from tests.dataflow.helpers import raise_memory, submit_edit

Status = ChangeRequest.Status


def _plan(client, service, desired, reason="API test"):
    return client.post(
        "/api/plans/", {"service": service.pk, "desired": desired, "reason": reason}, format="json"
    )


# --- Who may call --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["/api/services/", "/api/services/1/", "/api/changes/1/", "/api/history/"]
)
def test_anonymous_callers_are_told_to_authenticate(clients, address):
    response = clients["anonymous"].get(address)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_anonymous_callers_cannot_plan(clients, imported):
    assert (
        _plan(clients["anonymous"], imported["sales-etl"], {"description": "x"}).status_code == 401
    )


def test_a_person_without_a_role_may_read_nothing(clients, imported, admin_user):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    client = clients["no role"]
    for address in (
        "/api/services/",
        f"/api/services/{service.pk}/",
        f"/api/changes/{change.pk}/",
        "/api/history/",
    ):
        assert client.get(address).status_code == 403, address
    assert _plan(client, service, {"description": "x"}).status_code == 403


def test_every_role_reads_services_changes_and_history(clients, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    for role in ("admin", "lead", "support"):
        client = clients[role]
        assert client.get("/api/services/").status_code == 200, role
        assert client.get(f"/api/services/{service.pk}/").status_code == 200, role
        assert client.get(f"/api/changes/{change.pk}/").status_code == 200, role
        assert client.get("/api/history/").status_code == 200, role


def test_a_team_lead_cannot_plan_a_change(clients, imported):
    response = _plan(clients["lead"], imported["sales-etl"], {"description": "lead was here"})
    assert response.status_code == 403
    assert not ApiPlan.objects.exists()


def test_support_cannot_change_the_description(clients, imported):
    response = _plan(clients["support"], imported["sales-etl"], {"description": "support edit"})
    assert response.status_code == 403
    assert not ApiPlan.objects.exists()


def test_support_plans_and_confirms_a_host_alias_change(clients, imported, enqueued):
    service = imported["sales-etl"]
    aliases = [*service.config["host_aliases"], {"hostname": "kafka.internal", "ip": "10.9.0.7"}]
    response = _plan(clients["support"], service, {"host_aliases": aliases})
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == ChangeRequest.Kind.HOST_ALIASES
    confirmed = clients["support"].post(f"/api/plans/{response.json()['id']}/confirm")
    assert confirmed.status_code == 201, confirmed.json()
    assert confirmed.json()["kind"] == ChangeRequest.Kind.HOST_ALIASES


# --- Tokens -------------------------------------------------------------------------------


def test_an_expired_token_is_refused(imported, admin_user):
    made = token_create(user=admin_user, name="old", days=1)
    ApiToken.objects.filter(pk=made.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = client_for(admin_user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    assert client.get("/api/services/").status_code == 401


def test_a_revoked_token_is_refused_at_once(imported, admin_user):
    made = token_create(user=admin_user, name="gone", days=1)
    client = client_for(admin_user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    assert client.get("/api/services/").status_code == 200
    assert token_revoke(user=admin_user, token_id=made.token.pk)
    assert client.get("/api/services/").status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer dfc_unknown", "Bearer a b", "Token x"])
def test_a_malformed_or_unknown_token_opens_nothing(db, header):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/services/").status_code == 401


def test_a_token_of_someone_elses_cannot_be_revoked_by_me(admin_user, lead_user):
    made = token_create(user=lead_user, name="lead's", days=1)
    assert not token_revoke(user=admin_user, token_id=made.token.pk)
    made.token.refresh_from_db()
    assert made.token.revoked_at is None


def test_last_used_is_written_at_most_once_a_minute(imported, admin_user, time_machine):
    time_machine.move_to("2026-03-01 09:00:00Z", tick=False)
    made = token_create(user=admin_user, name="busy", days=30)
    client = client_for(admin_user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    client.get("/api/services/")
    first = ApiToken.objects.get(pk=made.token.pk).last_used_at
    time_machine.move_to("2026-03-01 09:00:30Z", tick=False)
    client.get("/api/services/")
    assert ApiToken.objects.get(pk=made.token.pk).last_used_at == first
    time_machine.move_to("2026-03-01 09:01:05Z", tick=False)
    client.get("/api/services/")
    assert ApiToken.objects.get(pk=made.token.pk).last_used_at > first


def test_only_the_hash_and_a_prefix_of_a_token_are_stored(admin_user):
    made = token_create(user=admin_user, name="ci", days=30)
    row = ApiToken.objects.get(pk=made.token.pk)
    assert made.secret not in (row.key_hash, row.prefix, row.name)
    assert made.secret.startswith(row.prefix) and len(row.prefix) < len(made.secret) // 3


def test_a_token_is_throttled_past_the_configured_rate(imported, admin_user, settings):
    settings.API_RATE = "3/min"
    client = client_for(admin_user)
    codes = [client.get("/api/services/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another token of the same person counts on its own.
    assert client_for(admin_user, name="other").get("/api/services/").status_code == 200


# --- Services -----------------------------------------------------------------------------


def test_services_are_listed_searched_and_paged(clients, imported):
    listing = clients["lead"].get("/api/services/").json()
    assert listing["count"] == len(imported)
    assert {"count", "next", "previous", "results"} <= set(listing)
    found = clients["lead"].get("/api/services/", {"q": "sales"}).json()
    assert [row["name"] for row in found["results"]] == ["sales-etl"]


def test_a_service_shows_its_configuration_and_links_never_a_password(clients, imported):
    service = imported["sales-etl"]
    body = clients["lead"].get(f"/api/services/{service.pk}/").json()
    assert body["config"] == service.config
    assert body["config_revision"] == service.config_revision
    assert body["web_url_nifi"] == service.web_url_nifi
    assert body["web_page"].endswith(f"/services/{service.pk}/")
    assert "password" not in str(body).lower()


def test_unknown_ids_answer_404(clients, imported):
    client = clients["admin"]
    assert client.get("/api/services/999999/").status_code == 404
    assert client.get("/api/changes/999999/").status_code == 404
    assert client.get(f"/api/plans/{uuid.uuid4()}/").status_code == 404
    assert client.post(f"/api/plans/{uuid.uuid4()}/confirm").status_code == 404
    assert _plan(client, type("S", (), {"pk": 999999})(), {"description": "x"}).status_code == 404


# --- Plans --------------------------------------------------------------------------------


def test_a_plan_shows_the_diff_and_the_precheck_and_sends_nothing(clients, imported, scp):
    service = imported["sales-etl"]
    memory = service.config["workloads"]["nifi"]["memory"] * 2
    response = _plan(clients["admin"], service, {"workloads": {"nifi": {"memory": memory}}})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(e["field"], e["after"]) for e in body["diff"]] == [("workloads.nifi.memory", memory)]
    assert body["precheck"]["needed"] is True and body["precheck"]["ok"] is True
    assert body["base_revision"] == service.config_revision
    assert body["change"] is None
    assert not ChangeRequest.objects.exists()
    assert not scp.applied_puts(service.scp_id)


def test_a_plan_that_changes_nothing_is_refused(clients, imported):
    service = imported["sales-etl"]
    response = _plan(clients["admin"], service, {"description": service.config["description"]})
    assert response.status_code == 400
    assert "desired" in response.json()


@pytest.mark.parametrize(
    ("desired", "where"),
    [
        ({"colour": "blue"}, ["desired", "colour"]),
        ({}, ["desired", "non_field_errors"]),
        ({"domain": "Not A Domain!"}, ["desired", "domain"]),
        ({"workloads": {"nifi": {"cpu": "lots"}}}, ["desired", "workloads", "nifi", "cpu"]),
        ({"workloads": {"nifi": {"cpu": 10}}}, ["desired", "workloads", "nifi", "cpu"]),
        (
            {"host_aliases": [{"hostname": "ok.example", "ip": "999.1.1.1"}]},
            ["desired", "host_aliases"],
        ),
    ],
)
def test_bad_input_answers_400_with_the_field_and_writes_nothing(clients, imported, desired, where):
    response = _plan(clients["admin"], imported["sales-etl"], desired)
    assert response.status_code == 400, response.json()
    errors = response.json()
    for key in where:
        errors = errors[key]
    assert errors
    assert not ApiPlan.objects.exists()


def test_a_plan_needs_a_reason(clients, imported):
    response = clients["admin"].post(
        "/api/plans/", {"service": imported["sales-etl"].pk, "desired": {"description": "x"}}
    )
    assert response.status_code == 400
    assert "reason" in response.json()


def test_confirm_makes_the_change_once_and_says_it_came_through_the_api(
    clients, imported, enqueued, admin_user, django_capture_on_commit_callbacks
):
    service = imported["sales-etl"]
    plan = _plan(clients["admin"], service, {"description": "through the API"}).json()

    with django_capture_on_commit_callbacks(execute=True):
        response = clients["admin"].post(f"/api/plans/{plan['id']}/confirm")

    assert response.status_code == 201, response.json()
    change = ChangeRequest.objects.get(pk=response.json()["id"])
    assert change.status == Status.QUEUED
    assert change.author == admin_user and change.reason == "API test"
    assert change.desired_config["description"] == "through the API"
    assert response.json()["channel"] == {"via": "token", "token": "ci"}
    assert ApiOrigin.objects.get(change=change).token_name == "ci"
    assert any("through the API, token ci" in e["text"] for e in response.json()["events"])
    assert [name for name, pk, _ in enqueued] == ["dataflow.change_send"]
    again = clients["admin"].post(f"/api/plans/{plan['id']}/confirm")
    assert again.status_code == 409
    assert again.json()["change"] == change.pk
    assert ChangeRequest.objects.count() == 1
    # The same history as any change, and the change page says where it came from.
    history = clients["lead"].get("/api/history/").json()["results"]
    assert [row["id"] for row in history] == [change.pk]
    page = Client()
    page.force_login(admin_user)
    assert "Came through the API, token ci." in page.get(f"/changes/{change.pk}/").content.decode()


def test_a_stale_plan_answers_409_with_the_current_revision(clients, imported, enqueued):
    service = imported["sales-etl"]
    plan = _plan(clients["admin"], service, {"description": "late"}).json()
    # SCP's configuration moved since the plan (a refresh saw someone's edit).
    service.config = {**service.config, "description": "changed outside"}
    service.config_revision += 1
    service.save()

    response = clients["admin"].post(f"/api/plans/{plan['id']}/confirm")

    assert response.status_code == 409
    assert response.json()["current_revision"] == service.config_revision
    assert not ChangeRequest.objects.exists()


def test_one_change_in_flight_per_service(clients, imported, enqueued, admin_user):
    service = imported["sales-etl"]
    plan = _plan(clients["admin"], service, {"description": "second"}).json()
    first = submit_edit(service, admin_user, raise_memory)

    response = clients["admin"].post(f"/api/plans/{plan['id']}/confirm")

    assert response.status_code == 409
    assert response.json()["change"] == first.pk


def test_someone_elses_plan_is_not_found(clients, imported, admin_user, enqueued):
    plan = _plan(clients["admin"], imported["sales-etl"], {"description": "mine"}).json()
    other_admin = client_for(_second_admin(admin_user))
    assert other_admin.get(f"/api/plans/{plan['id']}/").status_code == 404
    assert other_admin.post(f"/api/plans/{plan['id']}/confirm").status_code == 404


def _second_admin(admin_user):
    user = type(admin_user).objects.create_user("bob", password="x")
    user.groups.set(admin_user.groups.all())
    return user


# --- Changes ------------------------------------------------------------------------------


def test_a_change_reads_in_the_requests_language(clients, imported, admin_user):
    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    english = clients["lead"].get(f"/api/changes/{change.pk}/").json()
    korean = clients["lead"].get(f"/api/changes/{change.pk}/", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert english["events"][0]["text"] == "Queued by alice."
    assert korean["events"][0]["text"] != english["events"][0]["text"]
    assert english["channel"] == {"via": "web", "token": ""}


def test_the_author_or_an_admin_cancels_a_queued_change_others_may_not(
    clients, imported, admin_user, enqueued
):
    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    assert clients["lead"].post(f"/api/changes/{change.pk}/cancel").status_code == 403
    assert clients["support"].post(f"/api/changes/{change.pk}/cancel").status_code == 403
    response = clients["admin"].post(f"/api/changes/{change.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == Status.CANCELLED
    assert clients["admin"].post(f"/api/changes/{change.pk}/cancel").status_code == 409


def test_retry_and_abandon_follow_the_change_pages_rules(clients, imported, admin_user, enqueued):
    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    assert clients["lead"].post(f"/api/changes/{change.pk}/retry").status_code == 403
    assert clients["lead"].post(f"/api/changes/{change.pk}/abandon").status_code == 403
    assert clients["support"].post(f"/api/changes/{change.pk}/abandon").status_code == 403
    # A queued change neither failed nor is stuck with SCP.
    assert clients["admin"].post(f"/api/changes/{change.pk}/retry").status_code == 409
    assert clients["admin"].post(f"/api/changes/{change.pk}/abandon").status_code == 409


def test_retry_of_a_failed_change_plans_its_edits_again(clients, imported, admin_user, enqueued):
    from console.dataflow.changes.lifecycle import change_move

    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    assert change_move(change.pk, frm=Status.QUEUED, to=Status.FAILED, message="failed in test")

    response = clients["admin"].post(f"/api/changes/{change.pk}/retry")

    assert response.status_code == 201, response.json()
    assert [e["field"] for e in response.json()["diff"]] == ["workloads.nifi.memory"]
    assert response.json()["reason"] == change.reason


# --- History ------------------------------------------------------------------------------


def test_history_filters_as_the_page_does(clients, imported, admin_user, enqueued):
    first = submit_edit(imported["sales-etl"], admin_user, raise_memory, reason="more memory")
    submit_edit(imported["ml-features"], admin_user, raise_memory, reason="other")
    body = clients["lead"].get("/api/history/", {"q": "more memory"}).json()
    assert [row["id"] for row in body["results"]] == [first.pk]
    assert body["results"][0]["service_name"] == "sales-etl"
    assert clients["lead"].get("/api/history/", {"service_name": "ml-"}).json()["count"] == 1


def test_history_refuses_a_filter_it_does_not_understand(clients, imported):
    response = clients["lead"].get("/api/history/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()
    response = clients["lead"].get("/api/history/", {"since": "2026-02-02", "until": "2026-02-01"})
    assert response.status_code == 400


def test_an_admin_abandons_a_stuck_change_after_scp_was_read(clients, imported, admin_user):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    ChangeRequest.objects.filter(pk=change.pk).update(
        status=Status.SUBMITTING, submitted_at=timezone.now() - timedelta(minutes=30)
    )

    response = clients["admin"].post(f"/api/changes/{change.pk}/abandon")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.FAILED
    assert "Abandoned by alice after checking SCP" in response.json()["events"][-1]["text"]


def test_a_plan_on_a_connection_that_needs_approval_waits_for_an_approver(
    clients, imported, settings, enqueued
):
    settings.SCP_NEEDS_APPROVAL = True
    plan = _plan(clients["admin"], imported["sales-etl"], {"description": "four eyes"}).json()
    assert plan["needs_approval"] is True

    response = clients["admin"].post(f"/api/plans/{plan['id']}/confirm")

    assert response.status_code == 201
    assert response.json()["status"] == Status.AWAITING_APPROVAL
    assert enqueued == []


def test_a_person_reads_their_own_plan_and_the_change_it_became(clients, imported, enqueued):
    plan = _plan(clients["admin"], imported["sales-etl"], {"description": "read back"}).json()
    assert clients["admin"].get(f"/api/plans/{plan['id']}/").json()["change"] is None
    change = clients["admin"].post(f"/api/plans/{plan['id']}/confirm").json()
    assert clients["admin"].get(f"/api/plans/{plan['id']}/").json()["change"] == change["id"]


def test_a_change_confirmed_in_a_session_says_so(imported, admin_user, enqueued):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(admin_user)
    plan = _plan(client, imported["sales-etl"], {"description": "from the docs page"}).json()
    change = client.post(f"/api/plans/{plan['id']}/confirm").json()
    assert change["channel"] == {"via": "session", "token": ""}


def test_a_plan_warns_of_held_values_the_rules_would_refuse_and_keeps_them(clients, imported, scp):
    from console.dataflow.inventory.sync import services_sync
    from console.dataflow.models import Service

    scp.add_service(data_flow_service_name="legacy-cdc", domain="cdc.legacy")
    assert not services_sync().errors
    service = Service.objects.get(name="legacy-cdc")

    response = _plan(clients["admin"], service, {"description": "kept as held"})

    assert response.status_code == 201, response.json()
    assert "domain" in response.json()["warnings"]
    assert [e["field"] for e in response.json()["diff"]] == ["description"]
    again = clients["admin"].get(f"/api/plans/{response.json()['id']}/").json()
    assert again["warnings"] == response.json()["warnings"]


# --- Approvals ----------------------------------------------------------------------------


@pytest.fixture
def waiting(clients, imported, settings, enqueued) -> dict:
    """A change confirmed through the API on a connection that needs approval."""
    settings.SCP_NEEDS_APPROVAL = True
    plan = _plan(clients["admin"], imported["sales-etl"], {"description": "four eyes"}).json()
    return clients["admin"].post(f"/api/plans/{plan['id']}/confirm").json()


def test_a_team_lead_approves_a_waiting_change_and_it_is_queued(
    clients, waiting, enqueued, django_capture_on_commit_callbacks
):
    address = f"/api/changes/{waiting['id']}/approve"
    assert clients["admin"].post(address).status_code == 403  # its author
    assert clients["support"].post(address).status_code == 403  # not an approver

    with django_capture_on_commit_callbacks(execute=True):
        response = clients["lead"].post(address, {"comment": "fine"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.QUEUED
    assert response.json()["decided_by_name"] == "leo"
    assert [name for name, pk, _ in enqueued] == ["dataflow.change_send"]
    assert clients["lead"].post(address).status_code == 409


def test_a_team_lead_rejects_a_waiting_change_saying_why(clients, waiting):
    address = f"/api/changes/{waiting['id']}/reject"
    assert clients["lead"].post(address, {}).status_code == 400
    assert ChangeRequest.objects.get(pk=waiting["id"]).status == Status.AWAITING_APPROVAL

    response = clients["lead"].post(address, {"comment": "not during the freeze"})

    assert response.status_code == 200
    assert response.json()["status"] == Status.REJECTED
    assert clients["lead"].post(address, {"comment": "again"}).status_code == 409


def test_approving_over_a_value_scp_changed_since_needs_override(clients, waiting, imported, scp):
    service = imported["sales-etl"]
    scp.change_in_scp_console(service.scp_id, description="changed in SCP's console")
    address = f"/api/changes/{waiting['id']}/approve"

    conflict = clients["lead"].post(address, {"comment": "ok"})

    assert conflict.status_code == 409, conflict.json()
    revision = conflict.json()["current_revision"]
    response = clients["lead"].post(address, {"override": True, "revision": revision})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.QUEUED


def test_a_client_that_takes_gzip_gets_the_same_json_compressed(imported, admin_user):
    import gzip
    import json

    secret = token_create(user=admin_user, name="gzip", days=1).secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    plain = client.get("/api/services/")
    packed = client.get("/api/services/", HTTP_ACCEPT_ENCODING="gzip")
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain and packed["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.content)) == plain.json()
