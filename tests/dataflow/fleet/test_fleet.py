"""Fleet changes: the preview's flags, waves with a canary, stops, races, and their pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console.dataflow.changes.lifecycle import change_move
from console.dataflow.changes.steps import SEND_TASK
from console.dataflow.fleet.actions import fleet_cancel, fleet_resume, fleet_submit
from console.dataflow.fleet.plan import FleetEdit, fleet_preview, services_select
from console.dataflow.fleet.waves import _wave_next, fleet_advance
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ChangeRequest, FleetChange, FleetMember, Service

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status
OLD, NEW = "10.20.1.11", "10.20.1.99"
KAFKA = "kafka-1.stream.internal"
MOVE = FleetEdit(action="replace_ip", old_ip=OLD, new_ip=NEW)


@pytest.fixture
def dispatched(monkeypatch, enqueued):
    """Fleet steps recorded instead of sent to a broker; change sends land in `enqueued`."""
    steps: list[int] = []
    for module in ("actions", "waves"):  # each calls it by its own name
        monkeypatch.setattr(f"console.dataflow.fleet.{module}.fleet_advance_dispatch", steps.append)
    return steps


@pytest.fixture
def kafka_services(scp, db) -> list[Service]:
    """Five RUNNING services with kafka-1 at the old IP, plus the demo services."""
    for n in range(1, 6):
        scp.add_service(
            data_flow_service_name=f"stream-{n}",
            host_alias={
                "enabled": "true",
                "host_alias_list": [
                    {"hostname": KAFKA, "ip": OLD},
                    {"hostname": f"own-{n}.internal", "ip": f"10.50.0.{n}"},
                ],
            },
        )
    run = services_sync()
    assert not run.errors
    return list(Service.objects.filter(name__startswith="stream-").order_by("name"))


def _finish(change: ChangeRequest, to: str = Status.SUCCEEDED, **fields) -> None:
    """Walk a queued change through the lifecycle to a final status, as the pipeline would."""
    change_move(change.pk, frm=Status.QUEUED, to=Status.SUBMITTING, message="t")
    change_move(change.pk, frm=Status.SUBMITTING, to=Status.ACCEPTED, message="t")
    change_move(change.pk, frm=Status.ACCEPTED, to=to, message="t", **fields)


def _submit(author, services, wave_size=2) -> FleetChange:
    preview = fleet_preview(services=services, edit=MOVE)
    return fleet_submit(
        preview=preview, author=author, ticket="NET-7", reason="Kafka moved", wave_size=wave_size
    )


def _started(fleet: FleetChange) -> list[FleetMember]:
    return list(fleet.members.filter(change__isnull=False).select_related("change", "service"))


# --- The edit and the preview -------------------------------------------------------------


def test_the_edits_touch_only_the_named_alias():
    config = {
        "host_alias_enabled": False,
        "host_aliases": [{"hostname": KAFKA, "ip": OLD}, {"hostname": "db", "ip": "10.0.0.1"}],
    }
    assert MOVE.apply(config)["host_aliases"] == [
        {"hostname": KAFKA, "ip": NEW},
        {"hostname": "db", "ip": "10.0.0.1"},
    ]
    removed = FleetEdit(action="remove_host", hostname="db").apply(config)
    assert removed["host_aliases"] == [{"hostname": KAFKA, "ip": OLD}]
    added = FleetEdit(action="add_lines", lines=(("db", "10.0.0.2"), ("new", "10.0.0.3"))).apply(
        config
    )
    assert added["host_alias_enabled"] is True
    assert added["host_aliases"][1:] == [
        {"hostname": "db", "ip": "10.0.0.2"},
        {"hostname": "new", "ip": "10.0.0.3"},
    ]
    assert config["host_aliases"][0]["ip"] == OLD  # the input is left alone


def test_selection_by_alias_finds_every_service_holding_the_ip(kafka_services, imported):
    names = [s.name for s in services_select(contains=OLD)]
    assert names == ["iot-ingest", *[s.name for s in kafka_services]]
    assert [s.name for s in services_select(contains=KAFKA, name="stream-1")] == ["stream-1"]


def test_the_preview_flags_in_flight_not_running_and_too_many_aliases_and_skips_the_rest(
    kafka_services, imported, admin_user, enqueued
):
    busy, stopped = kafka_services[0], kafka_services[1]
    from tests.dataflow.helpers import add_alias, submit_edit

    submit_edit(busy, admin_user, add_alias)
    Service.objects.filter(pk=stopped.pk).update(state="STOPPED")
    services = [*services_select(contains=OLD), imported["sales-etl"]]

    rows = {r.service.name: r for r in fleet_preview(services=services, edit=MOVE).rows}

    assert "in flight" in rows["stream-1"].flag
    assert "not RUNNING" in rows["stream-2"].flag and "STOPPED" in rows["stream-2"].flag
    # iot-ingest holds 20 aliases already: replacing an IP keeps 20, which is allowed.
    assert rows["iot-ingest"].included
    assert rows["sales-etl"].unchanged and not rows["sales-etl"].included
    add = FleetEdit(action="add_lines", lines=(("extra.internal", "10.9.9.9"),))
    over = fleet_preview(services=[imported["iot-ingest"]], edit=add).rows[0]
    assert "at most 20" in over.flag
    for name in ("stream-3", "stream-4", "stream-5"):
        [entry] = rows[name].entries
        assert entry["field"] == f"host_aliases.{KAFKA}"


# --- Waves --------------------------------------------------------------------------------


def test_the_canary_goes_alone_then_waves_of_the_chosen_size(
    kafka_services, support_user, dispatched, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fleet = _submit(support_user, kafka_services, wave_size=2)
    assert dispatched == [fleet.pk]
    with django_capture_on_commit_callbacks(execute=True):
        fleet_advance(fleet_id=fleet.pk)

    [canary] = _started(fleet)
    assert canary.service.name == "stream-1" and canary.wave == 1
    assert canary.change.status == Status.QUEUED and canary.change.fleet_id == fleet.pk
    assert canary.change.kind == ChangeRequest.Kind.HOST_ALIASES
    assert [e["field"] for e in canary.change.diff] == [f"host_aliases.{KAFKA}"]
    assert [t for t, *_ in enqueued] == [SEND_TASK]
    fleet_advance(fleet_id=fleet.pk)  # nothing new while the canary runs
    assert len(_started(fleet)) == 1

    _finish(canary.change)
    fleet_advance(fleet_id=fleet.pk)
    assert [m.service.name for m in _started(fleet)] == ["stream-1", "stream-2", "stream-3"]

    for member in _started(fleet)[1:]:
        _finish(member.change)
    fleet_advance(fleet_id=fleet.pk)
    for member in _started(fleet)[3:]:
        _finish(member.change)
    fleet_advance(fleet_id=fleet.pk)

    fleet.refresh_from_db()
    assert fleet.status == FleetChange.Status.SUCCEEDED
    assert len(_started(fleet)) == 5 and fleet.wave == 3


def test_two_followups_at_once_start_a_wave_only_once(
    kafka_services, support_user, dispatched, enqueued
):
    fleet = _submit(support_user, kafka_services, wave_size=2)
    fleet_advance(fleet_id=fleet.pk)
    _finish(_started(fleet)[0].change)
    # Both read the fleet before either claimed the wave.
    first, second = FleetChange.objects.get(pk=fleet.pk), FleetChange.objects.get(pk=fleet.pk)

    _wave_next(first)
    _wave_next(second)
    fleet_advance(fleet_id=fleet.pk)

    assert len(_started(fleet)) == 3
    assert FleetChange.objects.get(pk=fleet.pk).wave == 2


def test_a_member_already_holding_the_edit_is_skipped_at_its_wave(
    kafka_services, support_user, dispatched, enqueued
):
    fleet = _submit(support_user, kafka_services, wave_size=5)
    # Someone fixed stream-2 by hand after the preview.
    stream2 = kafka_services[1]
    config = MOVE.apply(stream2.config)
    Service.objects.filter(pk=stream2.pk).update(config=config, config_revision=2)
    fleet_advance(fleet_id=fleet.pk)
    _finish(_started(fleet)[0].change)
    fleet_advance(fleet_id=fleet.pk)

    member = fleet.members.get(service=stream2)
    assert member.state == FleetMember.State.SKIPPED and member.change is None
    assert len(_started(fleet)) == 4


def test_a_failed_canary_stops_the_fleet_saying_why_and_resume_goes_on(
    kafka_services, support_user, dispatched, enqueued
):
    fleet = _submit(support_user, kafka_services, wave_size=5)
    fleet_advance(fleet_id=fleet.pk)
    canary = _started(fleet)[0]
    _finish(canary.change, to=Status.FAILED, error={"message": "SCP reports state ERROR."})

    fleet_advance(fleet_id=fleet.pk)

    fleet.refresh_from_db()
    assert fleet.status == FleetChange.Status.STOPPED
    assert "stream-1 failed" in fleet.stop_reason and "ERROR" in fleet.stop_reason
    assert len(_started(fleet)) == 1
    fleet_advance(fleet_id=fleet.pk)  # a stopped fleet stays stopped
    assert len(_started(fleet)) == 1

    assert fleet_resume(fleet=fleet, by=support_user)
    fleet_advance(fleet_id=fleet.pk)
    assert len(_started(fleet)) == 5
    for member in _started(fleet)[1:]:
        _finish(member.change)
    fleet_advance(fleet_id=fleet.pk)
    fleet.refresh_from_db()
    assert fleet.status == FleetChange.Status.FAILED  # finished, but not everywhere


def test_cancel_keeps_the_waiting_services_from_ever_being_sent(
    kafka_services, support_user, dispatched, enqueued
):
    fleet = _submit(support_user, kafka_services)
    fleet_advance(fleet_id=fleet.pk)
    assert fleet_cancel(fleet=fleet, by=support_user)
    _finish(_started(fleet)[0].change)
    fleet_advance(fleet_id=fleet.pk)

    assert len(_started(fleet)) == 1
    assert fleet.members.filter(state=FleetMember.State.CANCELLED).count() == 4


# --- Pages --------------------------------------------------------------------------------


def _form(**extra) -> dict:
    return {"contains": OLD, "action": "replace_ip", "old_ip": OLD, "new_ip": NEW, "wave_size": 2}


@pytest.mark.parametrize(
    ("role", "name", "method"),
    [
        ("lead_user", "fleet-new", "post"),
        ("lead_user", "fleet-new", "get"),
        ("outsider", "fleet-new", "post"),
        ("lead_user", "fleet-resume", "post"),
        ("lead_user", "fleet-cancel", "post"),
        ("support_user", "fleet-decide", "post"),
    ],
)
def test_roles_without_the_right_get_403_and_nothing_changes(
    client, request, kafka_services, admin_user, dispatched, role, name, method
):
    fleet = _submit(admin_user, kafka_services)
    client.force_login(request.getfixturevalue(role))
    url = reverse(f"dataflow:{name}", args=[] if name == "fleet-new" else [fleet.pk])
    data = {**_form(), "ticket": "T", "reason": "r", "confirm": "1", "decision": "approve"}

    response = getattr(client, method)(url, data)

    assert response.status_code == 403
    assert FleetChange.objects.count() == 1
    assert FleetChange.objects.get().status == FleetChange.Status.RUNNING


def _stopped(author, services) -> FleetChange:
    fleet = _submit(author, services)
    FleetChange.objects.filter(pk=fleet.pk).update(status=FleetChange.Status.STOPPED)
    return fleet


@pytest.mark.parametrize("name", ["fleet-cancel", "fleet-resume"])
def test_support_cannot_cancel_or_resume_someone_elses_fleet_change_nor_see_the_buttons(
    client, django_user_model, support_user, kafka_services, dispatched, name
):
    from django.contrib.auth.models import Group

    from console.dataflow.people.roles import SUPPORT

    colleague = django_user_model.objects.create_user("sam", password="pw")
    colleague.groups.add(Group.objects.get(name=SUPPORT))
    fleet = _stopped(support_user, kafka_services)
    client.force_login(colleague)

    response = client.post(reverse(f"dataflow:{name}", args=[fleet.pk]))
    page = client.get(reverse("dataflow:fleet-detail", args=[fleet.pk])).content.decode()

    assert response.status_code == 403
    assert FleetChange.objects.get(pk=fleet.pk).status == FleetChange.Status.STOPPED
    assert 'data-testid="fleet-cancel"' not in page and 'data-testid="fleet-resume"' not in page


def test_support_cannot_cancel_a_fleet_change_awaiting_approval_of_another_author(
    client, django_user_model, support_user, kafka_services, dispatched
):
    from django.contrib.auth.models import Group

    from console.dataflow.people.roles import SUPPORT

    colleague = django_user_model.objects.create_user("sam", password="pw")
    colleague.groups.add(Group.objects.get(name=SUPPORT))
    fleet = _submit(support_user, kafka_services)
    FleetChange.objects.filter(pk=fleet.pk).update(status=FleetChange.Status.AWAITING_APPROVAL)
    client.force_login(colleague)

    assert client.post(reverse("dataflow:fleet-cancel", args=[fleet.pk])).status_code == 403
    assert FleetChange.objects.get(pk=fleet.pk).status == FleetChange.Status.AWAITING_APPROVAL


@pytest.mark.parametrize("who", ["support_user", "admin_user"])
def test_the_author_or_an_admin_may_cancel_and_resume(
    client, request, support_user, kafka_services, dispatched, who
):
    fleet = _stopped(support_user, kafka_services)
    client.force_login(request.getfixturevalue(who))

    page = client.get(reverse("dataflow:fleet-detail", args=[fleet.pk])).content.decode()
    client.post(reverse("dataflow:fleet-resume", args=[fleet.pk]))
    assert FleetChange.objects.get(pk=fleet.pk).status == FleetChange.Status.RUNNING
    client.post(reverse("dataflow:fleet-cancel", args=[fleet.pk]))

    assert 'data-testid="fleet-resume"' in page and 'data-testid="fleet-cancel"' in page
    assert FleetChange.objects.get(pk=fleet.pk).status == FleetChange.Status.CANCELLED


def test_a_bad_ip_writes_nothing_and_says_what_is_wrong(client, support_user, kafka_services):
    client.force_login(support_user)
    data = {**_form(), "new_ip": "10.20.1.300", "ticket": "T", "reason": "r", "confirm": "1"}

    response = client.post(reverse("dataflow:fleet-new"), data)

    assert response.status_code == 200
    assert "not an IPv4 or IPv6 address" in response.content.decode()
    assert not FleetChange.objects.exists() and not ChangeRequest.objects.exists()


def test_a_confirm_without_a_ticket_writes_nothing(client, support_user, kafka_services):
    client.force_login(support_user)
    preview = client.post(reverse("dataflow:fleet-new"), {**_form(), "preview": "1"})
    token = preview.context["confirm"]["token"].value()

    response = client.post(
        reverse("dataflow:fleet-new"), {**_form(), "token": token, "reason": "r", "confirm": "1"}
    )

    assert response.status_code == 200
    assert not FleetChange.objects.exists()


def test_a_confirm_on_a_preview_that_moved_starts_nothing(
    client, support_user, kafka_services, dispatched
):
    client.force_login(support_user)
    preview = client.post(reverse("dataflow:fleet-new"), {**_form(), "preview": "1"})
    token = preview.context["confirm"]["token"].value()
    Service.objects.filter(pk=kafka_services[0].pk).update(config_revision=9)
    data = {**_form(), "token": token, "ticket": "T", "reason": "r", "confirm": "1"}

    response = client.post(reverse("dataflow:fleet-new"), data)

    assert b"Nothing was started" in response.content
    assert not FleetChange.objects.exists()
    again = client.post(
        reverse("dataflow:fleet-new"),
        {**data, "token": response.context["confirm"]["token"].value()},
    )
    assert again.status_code == 302 and FleetChange.objects.count() == 1


def test_a_worker_lost_while_starting_a_member_leaves_it_waiting_and_the_sweeper_goes_on(
    kafka_services, support_user, dispatched, enqueued, monkeypatch
):
    from console.dataflow.fleet import waves as fleet_module
    from console.dataflow.work.dispatch import changes_sweep

    fleet = _submit(support_user, kafka_services, wave_size=2)
    real_submit = fleet_module.change_submit

    def dies_after_submitting(**kwargs):
        real_submit(**kwargs)
        raise SystemExit("the worker is killed")  # before the member is marked started

    monkeypatch.setattr(fleet_module, "change_submit", dies_after_submitting)
    with pytest.raises(SystemExit):
        fleet_advance(fleet_id=fleet.pk)
    monkeypatch.setattr(fleet_module, "change_submit", real_submit)

    # Nothing half-done survives: no change, the canary still waiting in its wave.
    assert not ChangeRequest.objects.filter(fleet=fleet).exists()
    canary = fleet.members.get(wave=1)
    assert canary.state == FleetMember.State.WAITING

    dispatched.clear()
    assert changes_sweep()["fleet"] == 1
    assert dispatched == [fleet.pk]
    fleet_advance(fleet_id=fleet.pk)
    [started] = _started(fleet)
    assert started.pk == canary.pk and started.change.status == Status.QUEUED


def test_a_fleet_change_keeps_a_history_said_in_the_readers_language(
    client, kafka_services, support_user, admin_user, dispatched, enqueued
):
    from django.utils import translation

    from console.dataflow.fleet.lifecycle import IllegalFleetMove, fleet_move

    fleet = _submit(support_user, kafka_services, wave_size=5)
    fleet_advance(fleet_id=fleet.pk)
    _finish(_started(fleet)[0].change, to=Status.FAILED, error={"message": "SCP said no."})
    fleet_advance(fleet_id=fleet.pk)
    assert fleet_resume(fleet=fleet, by=admin_user)
    assert fleet_cancel(fleet=fleet, by=support_user)

    events = list(fleet.events.all())
    assert [e.status for e in events] == ["running", "stopped", "running", "cancelled"]
    assert [e.message for e in events] == [
        "Started by sue.",
        events[1].message,
        "Resumed by alice.",
        "Cancelled by sue.",
    ]
    assert events[1].message.startswith("stream-1 failed. Change #")
    with translation.override("ko"):
        assert events[0].text == "sue 님이 시작했습니다."
        assert events[2].text == "alice 님이 재개했습니다."
        assert "stream-1" in events[1].text and "SCP said no." in events[1].text

    client.force_login(admin_user)
    page = client.get(
        reverse("dataflow:fleet-detail", args=[fleet.pk]), headers={"accept-language": "ko"}
    ).content.decode()
    assert "sue 님이 시작했습니다." in page and "sue 님이 취소했습니다." in page
    # A final fleet change moves no more, and the lifecycle refuses a move it does not know.
    assert not fleet_resume(fleet=fleet, by=admin_user)
    with pytest.raises(IllegalFleetMove):
        fleet_move(fleet.pk, frm="cancelled", to="running", message="never")
