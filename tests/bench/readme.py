"""The README's performance table, written from var/bench/results.json: no Django, no timing.

Each benchmark group keeps the figures of its last run (results.json holds them by group), so
running `--only history` replaces the history's lines and leaves the others as they were. Each
group's block says where it ran: the date, the CPUs and their load, the database and the broker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.bench.bench_stats import format_seconds

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def groups_merge(previous: dict[str, Any], meta: dict, runs: dict[str, list[dict]]) -> dict:
    """The groups of an earlier results.json, with those run now replaced by their new figures."""
    groups = dict(previous.get("groups") or {})
    for key, results in runs.items():
        groups[key] = {"meta": meta, "results": results}
    return groups


def _figure(result: dict[str, Any]) -> tuple[str, str]:
    """The median and p95 cells: timings as durations, other figures as they were shown."""
    if result.get("error"):
        return "", ""
    if result.get("unit") in ("s", ""):
        return format_seconds(result.get("median")), format_seconds(result.get("p95"))
    return result.get("figure", ""), ""


# Broker URL schemes as the README names them (the URL itself names a host of the machine).
_BROKERS = {"redis": "Redis", "rediss": "Redis", "amqp": "RabbitMQ", "filesystem": "filesystem"}


def _where(meta: dict[str, Any]) -> str:
    load = meta.get("load_average") or {}
    scheme = str(meta.get("broker", "")).split("://", 1)[0]
    database = meta.get("database_version") or str(meta.get("database", "")).split(" ", 1)[0]
    return (
        f"{meta.get('finished_at', '?')[:16].replace('T', ' ')} UTC; {meta.get('cpus')} CPUs, "
        f"load average {load.get('before')} before, {load.get('after')} after; "
        f"{database}, a database of the run's own; broker {_BROKERS.get(scheme, scheme)}"
    )


def readme_table(groups: dict[str, Any], order: tuple[str, ...]) -> str:
    """One Markdown table per benchmark group run, in `order`, each under the line saying where."""
    blocks = []
    for key in [k for k in order if k in groups]:
        meta, results = groups[key]["meta"], groups[key]["results"]
        lines = [
            f"`--only {key}` ({_where(meta)}):",
            "",
            "| benchmark | median | p95 | n | target | result |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        shown_group = None
        for result in results:
            if result["group"] != shown_group:  # the group's name once, then its lines
                shown_group = result["group"]
                lines.append(f"| **{shown_group}** | | | | | |")
            median, p95 = _figure(result)
            name = result["name"].strip()
            n = str(result.get("n") or "")
            verdict = result.get("verdict", "")
            lines.append(
                f"| {name} | {median} | {p95} | {n} | {result.get('target', '')} | {verdict} |"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def readme_rewrite(path: Path, table: str) -> bool:
    """Put `table` between the markers of the README; False when the markers are missing."""
    text = path.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        return False
    path.write_text(pattern.sub(lambda _: f"{START}\n{table}\n{END}", text, count=1))
    return True
