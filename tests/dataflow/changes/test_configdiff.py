"""The diff behind the review page, the merge behind the PUT, the check behind Succeeded."""

from __future__ import annotations

import copy

from console.dataflow.changes.configdiff import (
    config_apply,
    config_diff,
    cpu_display,
    memory_display,
)

BASE = {
    "account_id": "nifiadmin",
    "description": "sales",
    "domain": "sales",
    "node_selector": "nodepool=dataflow",
    "host_alias_enabled": True,
    "host_aliases": [
        {"hostname": "db.internal", "ip": "10.0.0.5"},
        {"hostname": "kafka.internal", "ip": "10.0.0.6"},
    ],
    "workloads": {
        "nifi": {"cpu": 2000, "memory": 1024, "replica": 1, "version": "1.27.1"},
        "nifi_registry": {"cpu": 1000, "memory": 1024, "replica": 1, "version": "1.27.1"},
        "zookeeper": {"cpu": 500, "memory": 512, "replica": 3, "version": "3.9.2"},
    },
}


def edited(**changes):
    config = copy.deepcopy(BASE)
    config.update(changes)
    return config


def test_identical_configs_have_no_diff():
    assert config_diff(BASE, copy.deepcopy(BASE)) == []


def test_memory_change_reads_in_mib_and_gib():
    after = copy.deepcopy(BASE)
    after["workloads"]["nifi"]["memory"] = 2048
    [entry] = config_diff(BASE, after)
    assert entry["field"] == "workloads.nifi.memory"
    assert entry["section"] == "Workloads"
    assert entry["before_display"] == "1024 MiB (1 GiB)"
    assert entry["after_display"] == "2048 MiB (2 GiB)"


def test_host_aliases_show_as_added_removed_and_changed_rows():
    after = edited(
        host_aliases=[
            {"hostname": "db.internal", "ip": "10.0.0.9"},
            {"hostname": "cache.internal", "ip": "10.0.0.7"},
        ]
    )
    kinds = {e["label"]: e["kind"] for e in config_diff(BASE, after)}
    assert kinds == {
        "db.internal": "changed",
        "cache.internal": "added",
        "kafka.internal": "removed",
    }


def test_password_shows_only_as_changed():
    [entry] = config_diff(BASE, BASE, password_changed=True)
    assert entry["secret"] is True
    assert entry["before"] is None and entry["after"] is None
    assert entry["after_display"] == "changed"


def test_entries_follow_the_sections_of_the_form():
    after = edited(description="new", domain="sales-2", account_id="nifiadmin2")
    after["workloads"]["zookeeper"]["replica"] = 5
    sections = [e["section"] for e in config_diff(BASE, after)]
    assert sections == ["Account", "Network", "Workloads", "Description"]


def test_apply_keeps_fields_changed_elsewhere_and_applies_only_the_edit():
    desired = copy.deepcopy(BASE)
    desired["workloads"]["nifi"]["memory"] = 4096
    desired["host_aliases"].append({"hostname": "new.internal", "ip": "10.0.0.8"})
    current = edited(description="changed in SCP meanwhile")
    merged = config_apply(current, BASE, desired)
    assert merged["description"] == "changed in SCP meanwhile"
    assert merged["workloads"]["nifi"]["memory"] == 4096
    assert {"hostname": "new.internal", "ip": "10.0.0.8"} in merged["host_aliases"]
    assert len(merged["host_aliases"]) == 3


def test_apply_removes_a_removed_alias():
    desired = edited(host_aliases=[{"hostname": "db.internal", "ip": "10.0.0.5"}])
    merged = config_apply(BASE, BASE, desired)
    assert merged["host_aliases"] == [{"hostname": "db.internal", "ip": "10.0.0.5"}]


def test_units_read_as_people_read_them():
    assert cpu_display(2000) == "2 vCPU"
    assert cpu_display(500) == "0.5 vCPU"
    assert memory_display(1024) == "1 GiB"
    assert memory_display(1536) == "1.5 GiB"
    assert memory_display(512) == "512 MiB"
    assert cpu_display("junk") == "—"
