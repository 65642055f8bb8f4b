"""Host aliases switched off: lines written onto such a list switch it on, or are said not to reach
the pods when the person keeps it off (SCP_API.md §8)."""

from __future__ import annotations

import copy
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from console.dataflow.changes.configdiff import config_diff
from console.dataflow.changes.hostsfile import (
    host_alias_switch,
    hosts_in_pods,
    kept_off,
    pods_hosts,
)
from console.dataflow.changes.plan import change_plan
from console.dataflow.changes.send import change_send
from console.dataflow.changes.submit import ChangeRefused, change_submit
from console.dataflow.changes.track import change_track
from console.dataflow.connections.clients import scp_client_for
from console.dataflow.fleet.plan import FleetEdit, fleet_preview
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ChangeRequest, Service
from console.scp import ServiceConfig
from tests.dataflow.helpers import puts
from tests.dataflow.pages import diff_rows, edit_data, visible_text
from tests.notify_servers import catalogue_compile

Status = ChangeRequest.Status
NTP = {"hostname": "ntp.corp.example", "ip": "10.30.0.5"}
DB = {"hostname": "db.corp.example", "ip": "10.30.0.6"}
OFF_EMPTY = {"host_alias_enabled": False, "host_aliases": []}
OFF_HOLDING = {"host_alias_enabled": False, "host_aliases": [DB]}
ON_HOLDING = {"host_alias_enabled": True, "host_aliases": [DB]}


# --- The rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "enabled", "aliases", "keep_off", "expected"),
    [
        pytest.param(OFF_EMPTY, False, [NTP], False, True, id="a-line-added-switches-it-on"),
        pytest.param(
            OFF_HOLDING, False, [{**DB, "ip": "10.30.0.7"}], False, True, id="a-new-ip-too"
        ),
        pytest.param(OFF_EMPTY, False, [NTP], True, False, id="kept-off-by-choice"),
        pytest.param(OFF_HOLDING, False, [], False, False, id="removing-never-switches"),
        pytest.param(OFF_HOLDING, False, [DB], False, False, id="nothing-written"),
        pytest.param(OFF_EMPTY, True, [], False, True, id="switched-on-by-hand"),
        pytest.param(ON_HOLDING, False, [DB, NTP], False, False, id="switched-off-by-hand"),
        pytest.param(ON_HOLDING, True, [], False, True, id="the-last-alias-removed-stays-on"),
    ],
)
def test_lines_written_onto_a_switched_off_list_switch_it_on_unless_kept_off(
    held, enabled, aliases, keep_off, expected
):
    assert (
        host_alias_switch(held=held, enabled=enabled, aliases=aliases, keep_off=keep_off)
        is expected
    )


def test_the_pods_get_nothing_from_a_switched_off_list():
    assert hosts_in_pods({**OFF_HOLDING}) == ""
    assert hosts_in_pods({**ON_HOLDING}) == (
        "# Entries added by HostAliases.\n10.30.0.6\tdb.corp.example\n"
    )
    assert kept_off(OFF_EMPTY, {"host_alias_enabled": False, "host_aliases": [NTP]})
    assert not kept_off(OFF_EMPTY, {"host_alias_enabled": True, "host_aliases": [NTP]})


def test_the_switch_reads_off_to_on_in_a_diff_and_the_preview_follows_it():
    on = {"host_alias_enabled": True, "host_aliases": [NTP]}
    [switch, added] = config_diff(OFF_EMPTY, on)
    assert (switch["label"], switch["before_display"], switch["after_display"]) == (
        "Host aliases",
        "off",
        "on",
    )
    assert added["field"] == "host_aliases.ntp.corp.example"
    preview = pods_hosts(desired=on, entries=[switch, added])
    assert preview.switched_on and not preview.switched_off
    assert "10.30.0.5\tntp.corp.example" in preview.text

    off = {"host_alias_enabled": False, "host_aliases": [NTP]}
    preview = pods_hosts(desired=off, entries=config_diff(OFF_EMPTY, off))
    assert preview.switched_off and preview.unreached == 1 and preview.text == ""
    assert pods_hosts(desired=off, entries=config_diff({"description": "a"}, {})) is None


# --- The support page ---------------------------------------------------------------------


@pytest.fixture
def quiet(scp, db) -> Service:
    """A service as SCP creates it: host aliases switched off, none listed."""
    detail = scp.add_service(data_flow_service_name="quiet-etl")
    assert detail["host_alias"] == {"enabled": "false", "host_alias_list": []}
    run = services_sync()
    assert not run.errors, run.errors
    return Service.objects.get(name="quiet-etl")


def _paste(client, service: Service, hosts: str, **extra: str):
    """Post the support page as a person would, following to the review."""
    data = {
        "base_revision": service.config_revision,
        "hosts": hosts,
        "ticket": "SUP-77",
        "reason": "NTP for the flows",
        **extra,
    }
    return client.post(f"/services/{service.pk}/host-aliases/", data, follow=True)


def _track_until_final(change: ChangeRequest, timeout: float = 20.0) -> ChangeRequest:
    """Poll SCP for the change, as the worker's tracking task would, until it is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ChangeRequest.objects.filter(pk=change.pk).update(next_poll_at=timezone.now())
        change_track(change_id=change.pk)
        change.refresh_from_db()
        if change.is_final:
            return change
        time.sleep(0.1)
    raise AssertionError(f"change still {change.status}: {[str(e) for e in change.events.all()]}")


@pytest.mark.django_db(transaction=True)
def test_support_pasting_a_line_where_host_aliases_are_off_switches_them_on_end_to_end(
    client, scp, quiet, support_user, enqueued
):
    client.force_login(support_user)
    page = client.get(f"/services/{quiet.pk}/host-aliases/")
    assert 'name="host_alias_keep_off"' in page.content.decode()

    review = _paste(client, quiet, f"{NTP['ip']} {NTP['hostname']}\n")

    rows = diff_rows(review)
    assert list(rows) == ["host_alias_enabled", "host_aliases.ntp.corp.example"]
    assert "Host aliases off → on" in rows["host_alias_enabled"]["text"]
    html = review.content.decode()
    assert 'data-testid="aliases-switched-on"' in html
    assert 'data-testid="aliases-off-warning"' not in html
    assert "10.30.0.5\tntp.corp.example" in html  # what each pod's /etc/hosts gets

    confirm = client.post(review.request["PATH_INFO"], {"reason": "NTP for the flows"})
    assert confirm.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.kind == ChangeRequest.Kind.HOST_ALIASES
    assert change.desired_config["host_alias_enabled"] is True

    change_send(change_id=change.pk)
    [put] = puts(scp, quiet)
    assert put["body"]["host_alias"] == {"enabled": "true", "host_alias_list": [NTP]}
    change = _track_until_final(change)
    assert change.status == Status.SUCCEEDED, [str(e) for e in change.events.all()]
    detail = scp_client_for("default").get_service(quiet.scp_id)
    assert "10.30.0.5\tntp.corp.example" in detail.hosts_file

    change_page = client.get(change.get_absolute_url())
    sent = re.search(
        r'data-testid="body-sent-json">(.*?)</pre>', change_page.content.decode(), re.S
    ).group(1)
    assert "&quot;enabled&quot;: &quot;true&quot;" in sent
    service_page = client.get(quiet.get_absolute_url()).content.decode()
    assert 'data-effect="on"' in service_page


@pytest.mark.django_db
def test_keeping_host_aliases_off_says_the_lines_will_not_reach_the_pods(
    client, quiet, support_user, enqueued
):
    client.force_login(support_user)

    review = _paste(client, quiet, "10.30.0.5 ntp.corp.example\n", host_alias_keep_off="on")

    assert list(diff_rows(review)) == ["host_aliases.ntp.corp.example"]
    text = visible_text(review)
    assert "Host aliases stay switched off." in text
    assert "The 1 host name in the list will not reach the pods" in text
    assert "No line from the host alias list: host aliases are switched off." in text
    assert "10.30.0.5\tntp.corp.example" not in review.content.decode()

    # Back on the form ("Back to the form"), the choice is still ticked.
    draft_id = review.request["PATH_INFO"].rstrip("/").rsplit("/", 1)[-1]
    again = client.get(f"/services/{quiet.pk}/host-aliases/?draft={draft_id}")
    assert "checked" in _keep_off_input(again.content.decode())
    client.post(review.request["PATH_INFO"], {"reason": "kept off on purpose"})
    change = ChangeRequest.objects.get()
    assert change.desired_config["host_alias_enabled"] is False


@pytest.mark.django_db
def test_the_warning_and_the_switch_read_in_korean(client, quiet, support_user, enqueued):
    catalogue_compile()
    client.force_login(support_user)
    page = client.get(f"/services/{quiet.pk}/host-aliases/", HTTP_ACCEPT_LANGUAGE="ko")
    assert "호스트 별칭을 꺼진 상태로 유지" in visible_text(page)
    kept = _paste(client, quiet, "10.30.0.5 ntp.corp.example\n", host_alias_keep_off="on")
    korean = client.get(kept.request["PATH_INFO"], HTTP_ACCEPT_LANGUAGE="ko")
    text = visible_text(korean)
    assert "호스트 별칭이 계속 꺼진 상태입니다." in text
    assert "파드에 전달되지 않습니다" in text

    switched = _paste(client, quiet, "10.30.0.5 ntp.corp.example\n")
    korean = client.get(switched.request["PATH_INFO"], HTTP_ACCEPT_LANGUAGE="ko")
    assert "호스트 별칭 꺼짐 → 켜짐" in diff_rows(korean)["host_alias_enabled"]["text"]


@pytest.mark.django_db
def test_ticking_both_switched_on_and_kept_off_is_refused_and_writes_nothing(
    client, quiet, support_user
):
    client.force_login(support_user)
    response = _paste(
        client,
        quiet,
        "10.30.0.5 ntp.corp.example\n",
        host_alias_enabled="on",
        host_alias_keep_off="on",
    )
    assert response.status_code == 200
    assert "not both" in visible_text(response)
    assert not client.session.get("change_drafts")
    assert not ChangeRequest.objects.exists()


@pytest.mark.django_db
def test_the_support_page_shows_what_the_pods_have_while_the_list_is_off(client, scp, support_user):
    scp.add_service(
        data_flow_service_name="held-off", host_alias={"enabled": "false", "host_alias_list": [DB]}
    )
    assert not services_sync().errors
    service = Service.objects.get(name="held-off")
    client.force_login(support_user)

    page = client.get(f"/services/{service.pk}/host-aliases/").content.decode()

    assert 'data-testid="current-hosts"' not in page
    assert 'data-testid="current-hosts-off"' in page
    detail = client.get(service.get_absolute_url()).content.decode()
    assert 'data-effect="off"' in detail
    # SCP agrees: the pods get nothing from a list kept switched off.
    assert scp_client_for("default").get_service(service.scp_id).hosts_file == ""


@pytest.mark.django_db
def test_removing_the_last_alias_leaves_the_list_switched_on(client, imported, support_user):
    service = imported["finance-batch"]  # one alias, switched on
    client.force_login(support_user)

    review = _paste(client, service, "", host_alias_enabled="on")  # ticked, as the page shows

    assert list(diff_rows(review)) == ["host_aliases.ledger-db.fin.internal"]
    assert "No line from the host alias list: the list is empty." in visible_text(review)


@pytest.mark.django_db
def test_a_host_alias_change_may_switch_the_list_but_change_nothing_else(
    quiet, support_user, enqueued
):
    switched = {**quiet.config, "host_alias_enabled": True, "host_aliases": [NTP]}
    plan = change_plan(
        service=quiet,
        desired=ServiceConfig.from_dict(switched),
        password_changed=False,
        kind=ChangeRequest.Kind.HOST_ALIASES,
    )
    sneaky = change_plan(
        service=quiet,
        desired=ServiceConfig.from_dict({**switched, "node_selector": "nodepool=other"}),
        password_changed=False,
        kind=ChangeRequest.Kind.HOST_ALIASES,
    )

    with pytest.raises(ChangeRefused):
        change_submit(plan=sneaky, author=support_user, reason="sneaky", ticket="SUP-1")
    change = change_submit(plan=plan, author=support_user, reason="NTP", ticket="SUP-1")
    assert {e["field"] for e in change.diff} == {
        "host_alias_enabled",
        "host_aliases.ntp.corp.example",
    }


# --- The edit page ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_edit_page_switches_host_aliases_on_with_a_new_row_unless_kept_off(
    client, quiet, imported, admin_user
):
    client.force_login(admin_user)
    assert (
        'name="host_alias_keep_off"' in client.get(f"/services/{quiet.pk}/edit/").content.decode()
    )
    sales = imported["sales-etl"]  # switched on: nothing to keep off
    assert (
        'name="host_alias_keep_off"'
        not in client.get(f"/services/{sales.pk}/edit/").content.decode()
    )

    url = reverse("dataflow:service-edit", args=[quiet.pk])
    review = client.post(url, edit_data(quiet, aliases=[NTP]), follow=True)
    rows = diff_rows(review)
    assert list(rows) == ["host_alias_enabled", "host_aliases.ntp.corp.example"]
    assert "off → on" in rows["host_alias_enabled"]["text"]
    assert "10.30.0.5\tntp.corp.example" in review.content.decode()

    kept = client.post(url, edit_data(quiet, aliases=[NTP], host_alias_keep_off=True), follow=True)
    assert list(diff_rows(kept)) == ["host_aliases.ntp.corp.example"]
    assert "will not reach the pods" in visible_text(kept)
    # "Edit again" brings the choice back.
    draft_id = kept.request["PATH_INFO"].rstrip("/").rsplit("/", 1)[-1]
    again = client.get(f"{url}?draft={draft_id}").content.decode()
    assert "checked" in _keep_off_input(again)


def _keep_off_input(html: str) -> str:
    """The keep-off checkbox's input tag."""
    return re.search(r'<input[^>]*name="host_alias_keep_off"[^>]*>', html).group(0)


# --- Fleet changes ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_fleet_preview_flags_each_service_whose_host_aliases_it_switches_on(
    client, scp, support_user
):
    old = "10.40.0.1"
    for name, enabled in (("fleet-off", "false"), ("fleet-on", "true")):
        scp.add_service(
            data_flow_service_name=name,
            host_alias={
                "enabled": enabled,
                "host_alias_list": [{"hostname": "kafka.corp.example", "ip": old}],
            },
        )
    assert not services_sync().errors
    services = list(Service.objects.filter(name__startswith="fleet-").order_by("name"))
    move = FleetEdit(action="replace_ip", old_ip=old, new_ip="10.40.0.2")

    rows = {row.service.name: row for row in fleet_preview(services=services, edit=move).rows}

    assert rows["fleet-off"].switches_on and not rows["fleet-on"].switches_on
    assert move.apply(copy.deepcopy(services[0].config))["host_alias_enabled"] is True
    nothing = FleetEdit(action="replace_ip", old_ip="10.99.0.1", new_ip="10.99.0.2")
    assert nothing.apply(services[0].config)["host_alias_enabled"] is False

    client.force_login(support_user)
    page = client.post(
        reverse("dataflow:fleet-new"),
        {
            "name": "fleet-",
            "action": "add_lines",
            "lines": "10.40.0.9 ntp.corp.example",
            "wave_size": "2",
            "preview": "",
        },
    ).content.decode()
    flagged = re.findall(
        r'data-service="([^"]+)"[^>]*>(?:(?!data-testid="preview-row").)*?'
        r'data-testid="preview-switches-on"',
        page,
        re.S,
    )
    assert flagged == ["fleet-off"]
