"""The impact preview: each rule of the table, what it says, why, and from which source."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from console.dataflow.changes.configdiff import config_diff
from console.dataflow.changes.impact import (
    RULES,
    SOURCES,
    Durations,
    durations_of,
    durations_past,
    impact_preview,
)
from console.dataflow.models import ChangeRequest, Service

BASE = {
    "account_id": "nifiadmin",
    "description": "sales",
    "domain": "sales",
    "node_selector": "nodepool=dataflow",
    "host_alias_enabled": True,
    "host_aliases": [{"hostname": "db.internal", "ip": "10.0.0.5"}],
    "workloads": {
        "nifi": {"cpu": 2000, "memory": 4096, "replica": 3, "version": "1.27.1"},
        "nifi_registry": {"cpu": 1000, "memory": 1024, "replica": 1, "version": "1.27.1"},
        "zookeeper": {"cpu": 500, "memory": 512, "replica": 3, "version": "3.9.2"},
    },
}


def impacts_of(edit, base=BASE, durations=None):
    """The impacts of `edit` applied to a copy of `base`, said in English."""
    after = copy.deepcopy(base)
    edit(after)
    with translation.override("en"):
        found = impact_preview(entries=config_diff(base, after), config=base, durations=durations)
        return [(i.code, i.source, i.text, i.reason_text, i.ack_text) for i in found]


def workload(component, attr, value):
    def edit(config):
        config["workloads"][component][attr] = value

    return edit


def test_every_rule_names_a_known_source():
    assert {source for source, _rule in RULES} <= set(SOURCES)


def test_a_change_that_touches_nothing_running_says_nothing():
    def describe(config):
        config["description"] = "new words"

    assert impacts_of(describe) == []


def test_a_version_change_on_nifi_1_restarts_every_node_at_once():
    [(code, source, text, reason, ack)] = impacts_of(workload("nifi", "version", "1.28.1"))

    assert (code, source) == ("version_restart_all", "nifi_docs")
    assert text == (
        "Every NiFi node restarts at once: the flows stop for the length of the rollout."
    )
    assert reason.startswith("NiFi 1.27.1 → 1.28.1. NiFi 1.x cannot run nodes")
    assert ack == ""


@pytest.mark.parametrize("component", ["nifi_registry", "zookeeper"])
def test_a_registry_or_zookeeper_version_change_on_nifi_1_restarts_every_node_too(component):
    [(code, _source, _text, reason, _ack)] = impacts_of(workload(component, "version", "9.9.9"))

    assert code == "version_restart_all"
    assert "→ 9.9.9" in reason


def test_a_major_nifi_version_change_asks_for_a_backup_of_the_flow_first():
    found = impacts_of(workload("nifi", "version", "2.0.0"))

    assert [code for code, *_ in found] == ["version_restart_all", "major_version_backup"]
    _code, source, text, reason, _ack = found[1]
    assert source == "nifi_docs"
    assert text == (
        "Back up the flow definition (flow.json.gz) before you confirm: NiFi 1.27.1 → 2.0.0 "
        "is a major version change."
    )
    assert reason.startswith("NiFi 2.0's migration guidance")


def test_a_version_change_on_nifi_2_is_a_rolling_restart_not_all_at_once():
    base = copy.deepcopy(BASE)
    base["workloads"]["nifi"]["version"] = "2.0.0"

    found = impacts_of(workload("nifi", "version", "2.1.0"), base=base)

    assert [(code, source) for code, source, *_ in found] == [("pods_restart", "kubernetes")]
    assert found[0][2] == "NiFi's pods restart one after another (a rolling restart)."
    assert found[0][3] == (
        "NiFi version changes the pod spec, and Kubernetes replaces the pods to apply it."
    )


def test_an_unreadable_version_says_no_major_change():
    base = copy.deepcopy(BASE)
    base["workloads"]["nifi"]["version"] = "latest"

    found = impacts_of(workload("nifi", "version", "2.0.0"), base=base)

    assert "major_version_backup" not in [code for code, *_ in found]


def test_lowering_nifi_replicas_asks_to_offload_the_removed_nodes_and_to_acknowledge_it():
    [(code, source, text, reason, ack)] = impacts_of(workload("nifi", "replica", 1))

    assert (code, source) == ("nifi_offload", "nifi_docs")
    assert text == (
        "2 NiFi nodes are removed: data queued on them is lost unless they are offloaded first."
    )
    assert reason.startswith("NiFi replicas 3 → 1. In NiFi's cluster page, disconnect a node")
    assert ack == (
        "I have offloaded the 2 NiFi nodes being removed, or accept that their queued data is lost."
    )


def test_one_node_removed_is_said_in_the_singular():
    [(_code, _source, text, _reason, ack)] = impacts_of(workload("nifi", "replica", "2"))

    assert text.startswith("1 NiFi node is removed: data queued on it is lost")
    assert ack.startswith("I have offloaded the NiFi node being removed")


def test_raising_nifi_replicas_says_nothing():
    assert impacts_of(workload("nifi", "replica", 5)) == []


def test_zookeeper_from_three_to_one_loses_fault_tolerance():
    [(code, source, text, reason, _ack)] = impacts_of(workload("zookeeper", "replica", 1))

    assert (code, source) == ("zookeeper_no_fault_tolerance", "zookeeper_docs")
    assert text.startswith("ZooKeeper loses its fault tolerance")
    assert reason.startswith("ZooKeeper replicas 3 → 1.")


def test_zookeeper_from_three_to_five_says_what_the_quorum_tolerates():
    [(code, _source, text, _reason, _ack)] = impacts_of(workload("zookeeper", "replica", 5))

    assert code == "zookeeper_quorum"
    assert text == ("ZooKeeper keeps working with up to 2 of its 5 servers down (before: 1 of 3).")


@pytest.mark.parametrize("attr, value", [("cpu", 4000), ("memory", 8192)])
def test_cpu_or_memory_restarts_that_components_pods_one_after_another(attr, value):
    [(code, source, text, reason, _ack)] = impacts_of(workload("nifi", attr, value))

    assert (code, source) == ("pods_restart", "kubernetes")
    assert text == "NiFi's pods restart one after another (a rolling restart)."
    assert reason.startswith(f"NiFi {'CPU' if attr == 'cpu' else 'memory'} changes the pod spec")


def test_cpu_and_memory_of_a_single_replica_say_its_only_pod_restarts_once():
    def edit(config):
        config["workloads"]["nifi_registry"]["cpu"] = 2000
        config["workloads"]["nifi_registry"]["memory"] = 2048

    [(code, _source, text, reason, _ack)] = impacts_of(edit)

    assert code == "pods_restart"
    assert text == (
        "NiFi Registry's only pod restarts: NiFi Registry is unavailable until it is back."
    )
    assert reason.startswith("NiFi Registry CPU, NiFi Registry memory changes the pod spec")


def test_cpu_with_a_version_change_on_nifi_1_is_said_once_as_the_restart_of_every_node():
    def edit(config):
        config["workloads"]["nifi"]["cpu"] = 4000
        config["workloads"]["zookeeper"]["version"] = "3.9.3"

    assert [code for code, *_ in impacts_of(edit)] == ["version_restart_all"]


def test_host_aliases_restart_the_pods():
    def edit(config):
        config["host_aliases"].append({"hostname": "kafka.internal", "ip": "10.0.0.6"})

    [(code, source, text, _reason, _ack)] = impacts_of(edit)

    assert (code, source) == ("hosts_restart", "kubernetes")
    assert text == "The pods restart to pick up the new /etc/hosts."


def test_switching_host_aliases_off_restarts_the_pods_too():
    def edit(config):
        config["host_alias_enabled"] = False

    assert [code for code, *_ in impacts_of(edit)] == ["hosts_restart"]


def test_host_aliases_that_stay_switched_off_say_nothing():
    base = {**copy.deepcopy(BASE), "host_alias_enabled": False}

    def edit(config):
        config["host_aliases"] = []

    assert impacts_of(edit, base=base) == []


def test_a_stored_diff_with_numbers_as_strings_reads_the_same():
    entries = [
        {
            "section": "Workloads",
            "field": "workloads.nifi.replica",
            "before": "3",
            "after": "2",
        }
    ]
    [impact] = impact_preview(entries=entries, config={})

    assert impact.code == "nifi_offload"


# --- How long it takes ----------------------------------------------------------------------


def test_the_duration_is_the_median_and_90th_percentile_with_its_count():
    past = durations_of([60, 120, 180, 240, 600], scope="service")

    assert past == Durations(median=180, p90=600, count=5, scope="service")
    [(code, source, text, reason, _ack)] = impacts_of(
        workload("nifi", "replica", 5), durations=past
    )
    assert (code, source) == ("duration", "history")
    assert text == (
        "It will likely take about 3 min 0 s; 9 in 10 past changes took at most 10 min 0 s."
    )
    assert reason.startswith("The median and 90th percentile of 5 past changes of this service")


def test_fewer_than_three_past_changes_say_nothing_of_the_duration():
    assert durations_of([60, 120], scope="all") is None


def test_a_change_with_nothing_left_to_send_says_nothing_of_the_duration():
    past = durations_of([60, 120, 180], scope="all")

    assert impact_preview(entries=[], config=BASE, durations=past) == []


def test_the_duration_is_said_in_the_readers_language(korean_catalogue):
    past = durations_of([3700, 3700, 3700], scope="all")
    entries = [{"section": "Description", "field": "description", "before": "a", "after": "b"}]
    [impact] = impact_preview(entries=entries, config=BASE, durations=past)

    with translation.override("ko"):
        assert "1시간 1분" in impact.text


@pytest.fixture
def korean_catalogue():
    from tests.notify_servers import catalogue_compile

    catalogue_compile()


def _finished(service: Service, minutes: float, status=ChangeRequest.Status.SUCCEEDED) -> None:
    end = timezone.now()
    ChangeRequest.objects.create(
        service=service,
        author_name="alice",
        reason="r",
        base_revision=1,
        base_config={},
        desired_config={},
        status=status,
        created_at=end - timedelta(minutes=minutes),
        finished_at=end,
    )


def _service(name: str, connection: str = "default") -> Service:
    return Service.objects.create(name=name, scp_id=name, connection_name=connection)


@pytest.mark.django_db
def test_past_durations_come_from_the_service_else_its_connection_else_all():
    mine, neighbour, elsewhere = _service("a"), _service("b"), _service("c", "other")
    for minutes in (1, 2, 3):
        _finished(elsewhere, minutes)
    assert durations_past(service=mine).scope == "all"

    for minutes in (10, 20, 30):
        _finished(neighbour, minutes)
    assert durations_past(service=mine) == Durations(1200, 1800, 3, "connection")

    for minutes in (5, 5):
        _finished(mine, minutes)
    _finished(mine, 7, status=ChangeRequest.Status.DIFFERENT)
    _finished(mine, 99, status=ChangeRequest.Status.FAILED)  # failures are not counted
    assert durations_past(service=mine) == Durations(300, 420, 3, "service")


@pytest.mark.django_db
def test_no_past_duration_when_fewer_than_three_changes_ended_well():
    mine = _service("a")
    _finished(mine, 5)
    _finished(mine, 5, status=ChangeRequest.Status.FAILED)

    assert durations_past(service=mine) is None


@pytest.mark.django_db
def test_past_durations_read_only_the_newest_changes(monkeypatch):
    monkeypatch.setattr("console.dataflow.changes.impact.DURATION_MAX_CHANGES", 3)
    mine = _service("a")
    _finished(mine, 600)  # an old, slow one: finished first, left out
    for minutes in (1, 2, 3):
        _finished(mine, minutes)

    assert durations_past(service=mine) == Durations(120, 180, 3, "service")
