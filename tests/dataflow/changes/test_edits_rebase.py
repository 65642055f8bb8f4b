"""Edits, not snapshots: a form opened on an older configuration never reverts a colleague."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console.dataflow.changes.drafts import OUTSIDE, meanwhile_notice
from console.dataflow.models import ChangeRequest, ConfigRevision, Service
from console.dataflow.views import review as views
from tests.conftest import _person
from tests.dataflow.pages import diff_rows, drafts_in_session, edit_data, page_text, row_counts

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status

CONFIG: dict[str, Any] = {
    "account_id": "salesadmin",
    "description": "Orders from the ERP into the warehouse",
    "domain": "sales",
    "node_selector": "nodepool=dataflow",
    "host_alias_enabled": True,
    "host_aliases": [
        {"hostname": "erp-db.corp.internal", "ip": "10.10.1.21"},
        {"hostname": "dwh.corp.internal", "ip": "10.10.1.40"},
    ],
    "workloads": {
        "nifi": {"cpu": 2000, "memory": 8192, "replica": 2, "version": "1.27.1"},
        "nifi_registry": {"cpu": 1000, "memory": 2048, "replica": 1, "version": "1.27.1"},
        "zookeeper": {"cpu": 1000, "memory": 2048, "replica": 3, "version": "3.9.2"},
    },
}
OFFERED = {"nifi": ["1.27.1"], "nifi_registry": ["1.27.1"], "zookeeper": ["3.9.2"]}


def url(name: str, *args) -> str:
    return reverse(f"dataflow:{name}", args=args)


@pytest.fixture(autouse=True)
def precheck_says_yes(monkeypatch):
    """SCP's pre-check is not what these tests are about: it answers "room enough" at once."""
    from console.dataflow.changes.plan import Precheck

    monkeypatch.setattr(
        views, "change_precheck", lambda **_: Precheck(True, True, "SCP confirms the room.")
    )


@pytest.fixture
def service() -> Service:
    """A service at revision 1, observed an hour ago."""
    service = Service.objects.create(
        scp_id="2a9be312-5d4b-4bc8-b2ae-35100fa9241f",
        name="sales-etl",
        state="RUNNING",
        config=copy.deepcopy(CONFIG),
        offered_versions=OFFERED,
    )
    ConfigRevision.objects.create(
        service=service,
        revision=1,
        config=service.config,
        observed_at=timezone.now() - timedelta(hours=1),
    )
    return service


@pytest.fixture
def bob(db):
    """A second admin, the colleague."""
    from console.dataflow.people.roles import ADMINS

    return _person("bob", ADMINS)


@pytest.fixture
def as_admin(client: Client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def moves(service: Service, edit, *, author=None) -> Service:
    """The next revision of the service's configuration; with `author`, made by their change."""
    service.refresh_from_db()
    before = copy.deepcopy(service.config)
    after = copy.deepcopy(service.config)
    edit(after)
    if author is not None:
        from console.dataflow.changes.configdiff import config_diff

        now = timezone.now()
        ChangeRequest.objects.create(
            service=service,
            author=author,
            author_name=author.get_username(),
            reason="colleague",
            base_revision=service.config_revision,
            base_config=before,
            desired_config=after,
            diff=config_diff(before, after),
            status=Status.SUCCEEDED,
            submitted_at=now - timedelta(seconds=20),
            accepted_at=now - timedelta(seconds=19),
            finished_at=now,
        )
    service.config = after
    service.config_revision += 1
    service.save()
    ConfigRevision.objects.create(
        service=service, revision=service.config_revision, config=service.config
    )
    return service


def registry_memory_4096(config: dict[str, Any]) -> None:
    config["workloads"]["nifi_registry"]["memory"] = 4096


def only_draft(client: Client) -> dict[str, Any]:
    [draft] = drafts_in_session(client).values()
    return draft


def test_a_colleagues_change_made_meanwhile_is_kept_and_only_my_edit_is_reviewed(
    as_admin, service, bob
):
    opened = edit_data(service, nifi_cpu=3000)  # A opens r1 and raises NiFi CPU
    moves(service, registry_memory_4096, author=bob)  # B's change makes r2

    response = as_admin.post(url("service-edit", service.pk), opened)

    assert response.status_code == 302, page_text(response)
    draft = only_draft(as_admin)
    assert draft["base_revision"] == 2
    assert draft["base_config"]["workloads"]["nifi_registry"]["memory"] == 4096
    assert draft["desired_config"]["workloads"]["nifi_registry"]["memory"] == 4096
    assert draft["desired_config"]["workloads"]["nifi"]["cpu"] == 3000
    review = as_admin.get(response.url)
    assert set(diff_rows(review)) == {"workloads.nifi.cpu"}
    text = page_text(review)
    assert "The configuration changed since you opened the form" in text
    assert 'data-testid="stale-authors">bob<' in review.content.decode()
    assert "bob (change #" in text
    assert 'data-field="workloads.nifi_registry.memory" data-both="false"' in text


def test_a_field_we_both_changed_takes_my_value_and_is_marked(as_admin, service, bob):
    opened = edit_data(service, nifi_registry_memory=3072)
    moves(service, registry_memory_4096, author=bob)

    response = as_admin.post(url("service-edit", service.pk), opened)

    assert response.status_code == 302
    draft = only_draft(as_admin)
    assert draft["desired_config"]["workloads"]["nifi_registry"]["memory"] == 3072
    review = as_admin.get(response.url)
    rows = diff_rows(review)
    assert set(rows) == {"workloads.nifi_registry.memory"}
    assert "4096 MiB" in rows["workloads.nifi_registry.memory"]["text"]  # before: bob's value
    html = review.content.decode()
    assert 'data-field="workloads.nifi_registry.memory" data-both="true"' in html
    assert "your value applies, only because you edited this field" in page_text(review)


def test_a_change_seen_only_by_a_refresh_is_said_to_come_from_outside_the_console(
    as_admin, service
):
    opened = edit_data(service, description="my edit")
    moves(service, lambda c: c.update(domain="sales-moved"))

    response = as_admin.post(url("service-edit", service.pk), opened)

    review = as_admin.get(response.url)
    assert set(diff_rows(review)) == {"description"}
    assert OUTSIDE in page_text(review)
    assert only_draft(as_admin)["desired_config"]["domain"] == "sales-moved"


def test_edits_already_held_by_the_newer_config_say_nothing_to_change(as_admin, service, bob):
    opened = edit_data(service, nifi_registry_memory=4096)
    moves(service, registry_memory_4096, author=bob)
    before = row_counts()

    response = as_admin.post(url("service-edit", service.pk), opened, follow=True)

    assert response.status_code == 200
    assert "the newer configuration already holds your edits" in page_text(response)
    assert 'data-testid="stale"' in response.content.decode()
    assert drafts_in_session(as_admin) == {}
    assert row_counts() == before


def test_a_form_whose_revision_is_not_on_record_asks_for_a_reload_and_never_guesses(
    as_admin, service
):
    opened = edit_data(service, nifi_cpu=3000)
    moves(service, registry_memory_4096)
    ConfigRevision.objects.filter(service=service, revision=1).delete()
    before = row_counts()

    response = as_admin.post(url("service-edit", service.pk), opened)

    assert response.status_code == 200
    assert "(revision 1) is no longer on record" in page_text(response)
    assert "reload the page" in page_text(response)
    assert drafts_in_session(as_admin) == {}
    assert row_counts() == before


def test_a_forged_revision_from_the_future_is_not_on_record(as_admin, service):
    response = as_admin.post(
        url("service-edit", service.pk), edit_data(service, base_revision=99, nifi_cpu=3000)
    )

    assert response.status_code == 200
    assert "(revision 99) is no longer on record" in page_text(response)
    assert drafts_in_session(as_admin) == {}


def test_confirming_after_the_config_moved_sends_nothing_and_reviews_my_edit_again(
    as_admin, service, enqueued
):
    response = as_admin.post(url("service-edit", service.pk), edit_data(service, nifi_cpu=3000))
    review = response.url
    as_admin.get(review)
    moves(service, lambda c: c.update(description="changed in SCP"))

    stale = as_admin.post(review, {"reason": "more CPU"})

    assert stale.status_code == 200
    assert ChangeRequest.objects.count() == 0
    assert 'data-testid="nothing-sent"' in stale.content.decode()
    assert set(diff_rows(stale)) == {"workloads.nifi.cpu"}
    assert "changed in SCP" in page_text(stale)
    assert only_draft(as_admin)["base_revision"] == 2

    confirmed = as_admin.post(review, {"reason": "more CPU"})

    assert confirmed.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.base_revision == 2
    assert change.desired_config["description"] == "changed in SCP"
    assert change.desired_config["workloads"]["nifi"]["cpu"] == 3000
    assert [e["field"] for e in change.diff] == ["workloads.nifi.cpu"]


def test_a_move_caught_by_the_submit_itself_rebases_the_review(
    as_admin, service, bob, monkeypatch, enqueued
):
    response = as_admin.post(url("service-edit", service.pk), edit_data(service, nifi_cpu=3000))
    review = response.url
    as_admin.get(review)
    real_submit = views.change_submit

    def colleague_first(**kwargs):
        # Bob's change lands between the review's check and the submit's lock.
        monkeypatch.setattr(views, "change_submit", real_submit)
        moves(service, registry_memory_4096, author=bob)
        return real_submit(**kwargs)

    monkeypatch.setattr(views, "change_submit", colleague_first)

    stale = as_admin.post(review, {"reason": "more CPU"})

    assert stale.status_code == 200
    assert ChangeRequest.objects.filter(author__username="alice").count() == 0
    assert 'data-testid="nothing-sent"' in stale.content.decode()
    assert set(diff_rows(stale)) == {"workloads.nifi.cpu"}
    assert 'data-testid="stale-authors">bob<' in stale.content.decode()
    draft = only_draft(as_admin)
    assert draft["desired_config"]["workloads"]["nifi_registry"]["memory"] == 4096


def test_edit_again_after_a_rebase_opens_on_the_newest_revision_with_my_edit(
    as_admin, service, bob
):
    opened = edit_data(service, nifi_cpu=3000)
    moves(service, registry_memory_4096, author=bob)
    review = as_admin.post(url("service-edit", service.pk), opened).url
    draft_id = review.rstrip("/").rsplit("/", 1)[1]

    form = as_admin.get(url("service-edit", service.pk) + f"?draft={draft_id}")

    html = form.content.decode()
    assert 'name="base_revision" value="2"' in html
    assert 'name="nifi_cpu" value="3000"' in html
    assert 'name="nifi_registry_memory" value="4096"' in html


# --- The host alias page ------------------------------------------------------------------


def hosts_post(service: Service, hosts: str, *, revision: int) -> dict[str, Any]:
    return {
        "base_revision": revision,
        "host_alias_enabled": "on",
        "hosts": hosts,
        "ticket": "SUP-7",
        "reason": "LDAP moved",
    }


@pytest.fixture
def as_support(client: Client, support_user) -> Client:
    client.force_login(support_user)
    return client


def test_a_pasted_list_opened_before_a_colleagues_alias_keeps_that_alias(as_support, service, bob):
    opened_text = "10.10.1.21 erp-db.corp.internal\n10.10.1.40 dwh.corp.internal\n"
    pasted = opened_text + "10.30.0.9 ldap.corp.internal\n"

    def colleague(config):
        config["host_aliases"].append({"hostname": "mq.corp.internal", "ip": "10.30.0.20"})
        config["description"] = "new words"

    moves(service, colleague, author=bob)

    response = as_support.post(
        url("service-host-aliases", service.pk), hosts_post(service, pasted, revision=1)
    )

    assert response.status_code == 302, page_text(response)
    review = as_support.get(response.url)
    assert set(diff_rows(review)) == {"host_aliases.ldap.corp.internal"}
    desired = only_draft(as_support)["desired_config"]
    assert {a["hostname"] for a in desired["host_aliases"]} == {
        "erp-db.corp.internal",
        "dwh.corp.internal",
        "mq.corp.internal",
        "ldap.corp.internal",
    }
    assert desired["description"] == "new words"
    assert 'data-testid="stale-authors">bob<' in review.content.decode()


def test_a_removed_line_is_the_edit_and_a_colleagues_new_alias_stays(as_support, service):
    moves(
        service,
        lambda c: c["host_aliases"].append({"hostname": "mq.corp.internal", "ip": "10.30.0.20"}),
    )

    response = as_support.post(
        url("service-host-aliases", service.pk),
        hosts_post(service, "10.10.1.21 erp-db.corp.internal\n", revision=1),
    )

    review = as_support.get(response.url)
    rows = diff_rows(review)
    assert set(rows) == {"host_aliases.dwh.corp.internal"}
    assert rows["host_aliases.dwh.corp.internal"]["kind"] == "removed"
    desired = only_draft(as_support)["desired_config"]
    assert {a["hostname"] for a in desired["host_aliases"]} == {
        "erp-db.corp.internal",
        "mq.corp.internal",
    }


def test_the_host_alias_page_asks_for_a_reload_when_its_revision_is_not_on_record(
    as_support, service
):
    moves(service, lambda c: c.update(description="x"))
    ConfigRevision.objects.filter(service=service, revision=1).delete()
    before = row_counts()

    response = as_support.post(
        url("service-host-aliases", service.pk),
        hosts_post(service, "10.30.0.9 ldap.corp.internal\n", revision=1),
    )

    assert response.status_code == 200
    assert "is no longer on record" in page_text(response)
    assert drafts_in_session(as_support) == {}
    assert row_counts() == before


# --- The notice itself --------------------------------------------------------------------


def test_only_changes_that_finished_after_the_older_revision_are_named(service, bob, lead_user):
    old = ChangeRequest.objects.create(
        service=service,
        author=lead_user,
        author_name="leo",
        reason="long ago",
        base_revision=1,
        base_config=service.config,
        desired_config=service.config,
        diff=[{"field": "workloads.nifi_registry.memory"}],
        status=Status.SUCCEEDED,
        submitted_at=timezone.now() - timedelta(hours=3),
        finished_at=timezone.now() - timedelta(hours=2),
    )
    moves(service, registry_memory_4096, author=bob)

    notice = meanwhile_notice(
        service=service, since_revision=1, since_config=CONFIG, edited={"workloads.nifi.cpu"}
    )

    assert notice["authors"] == ["bob"]
    assert old.author_name not in str(notice)
    [entry] = notice["entries"]
    assert entry["field"] == "workloads.nifi_registry.memory"
    assert entry["both"] is False
    assert notice["outside"] is False
