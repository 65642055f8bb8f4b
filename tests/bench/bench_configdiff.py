"""config_diff and config_apply on a configuration with the maximum of 20 host aliases."""

from __future__ import annotations

import copy
from typing import Any

from console.dataflow.changes.configdiff import config_apply, config_diff
from tests.bench.bench_stats import Result, repeat_batched, timing

GROUP = "Config diff"
MAX_ALIASES = 20


def sample_config(*, aliases: int = MAX_ALIASES, seed: int = 0) -> dict[str, Any]:
    """A service configuration (ServiceConfig.to_dict() form) with `aliases` host aliases."""
    return {
        "account_id": "nifiadmin",
        "description": f"Benchmark service {seed}",
        "domain": "dataflow",
        "node_selector": "nodepool=dataflow",
        "host_alias_enabled": aliases > 0,
        "host_aliases": [
            {"hostname": f"host-{i:02d}.internal.example", "ip": f"10.{seed % 250}.0.{i + 10}"}
            for i in range(aliases)
        ],
        "workloads": {
            "nifi": {"cpu": 2000, "memory": 4096, "replica": 1, "version": "1.27.1"},
            "nifi_registry": {"cpu": 1000, "memory": 2048, "replica": 1, "version": "1.27.1"},
            "zookeeper": {"cpu": 500, "memory": 1024, "replica": 3, "version": "3.9.2"},
        },
    }


def sample_edit(config: dict[str, Any]) -> dict[str, Any]:
    """A typical edit: memory doubled, one alias moved, one replaced, the description changed."""
    desired = copy.deepcopy(config)
    desired["workloads"]["nifi"]["memory"] *= 2
    desired["description"] = config["description"] + " (edited)"
    aliases = desired["host_aliases"]
    if aliases:
        aliases[0]["ip"] = "10.99.0.1"
        aliases[-1] = {"hostname": "metrics.internal.example", "ip": "10.99.0.2"}
    return desired


def bench_configdiff() -> list[Result]:
    """Per call, in batches: the review page's diff and the worker's merge onto SCP's config."""
    base = sample_config()
    desired = sample_edit(base)
    # SCP moved on meanwhile: another replica and another alias IP, which the merge must keep.
    current = copy.deepcopy(base)
    current["workloads"]["zookeeper"]["replica"] = 5
    current["host_aliases"][5]["ip"] = "10.98.0.5"

    entries = config_diff(base, desired)
    merged = config_apply(current, base, desired)
    if len(entries) != 5 or merged["workloads"]["zookeeper"]["replica"] != 5:
        raise AssertionError(f"unexpected diff or merge: {entries!r}")

    diff_samples = repeat_batched(lambda: config_diff(base, desired), batches=200, batch_size=50)
    apply_samples = repeat_batched(
        lambda: config_apply(current, base, desired), batches=200, batch_size=50
    )
    detail = {"host_aliases": MAX_ALIASES, "entries": len(entries)}
    return [
        timing(
            GROUP,
            f"config_diff, {MAX_ALIASES} aliases",
            diff_samples,
            target_s=1e-3,
            per_sample_ops=50,
            detail=detail,
        ),
        timing(
            GROUP,
            f"config_apply, {MAX_ALIASES} aliases",
            apply_samples,
            target_s=1e-3,
            per_sample_ops=50,
            detail=detail,
        ),
    ]
