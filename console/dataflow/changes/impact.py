"""What a change will do to the running flows: consequences read off its diff and the service.

Store facts, render words: each consequence is a code with its sentences as English templates
and parameters (`said`), said in the reader's language when a page shows it. The rules live in
one table, `RULES`, each a small function with its source; a rule that does not know says
nothing rather than guessing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, gettext_noop

from console.dataflow.changes.configdiff import COMPONENT_LABELS, SCALAR_FIELDS, flatten
from console.dataflow.models import ChangeRequest, Service
from console.dataflow.words.events import Said, said, said_join, said_n, said_text

NIFI_DOCS = "nifi_docs"
ZOOKEEPER_DOCS = "zookeeper_docs"
KUBERNETES = "kubernetes"
HISTORY = "history"
SOURCES = {
    NIFI_DOCS: gettext_noop("NiFi docs"),
    ZOOKEEPER_DOCS: gettext_noop("ZooKeeper docs"),
    KUBERNETES: gettext_noop("Kubernetes behaviour"),
    HISTORY: gettext_noop("our history"),
}
# How long a change takes is said only from this many past changes or more, of the newest
# this many at most.
DURATION_MIN_CHANGES = 3
DURATION_MAX_CHANGES = 200
DONE = (ChangeRequest.Status.SUCCEEDED, ChangeRequest.Status.DIFFERENT)


@dataclass(frozen=True)
class Durations:
    """How long past changes took (seconds), and which changes that is read from."""

    median: float
    p90: float
    count: int
    scope: str  # "service", "connection" or "all"


@dataclass(frozen=True)
class Facts:
    """What the rules read: the change's diff entries, the configuration it applies to, and
    how long past changes took."""

    entries: tuple[Mapping[str, Any], ...]
    config: Mapping[str, Any]
    durations: Durations | None = None

    def changed(self, path: str) -> Mapping[str, Any] | None:
        """The diff entry of one field, or None when the change leaves it."""
        return next((entry for entry in self.entries if entry["field"] == path), None)

    def before(self, path: str) -> Any:
        """The field's value before the change."""
        entry = self.changed(path)
        return entry["before"] if entry else flatten(dict(self.config))[0].get(path)

    def after(self, path: str) -> Any:
        """The field's value once the change is applied."""
        entry = self.changed(path)
        return entry["after"] if entry else flatten(dict(self.config))[0].get(path)


@dataclass(frozen=True)
class Finding:
    """One consequence as a rule finds it: a code, what happens, why, and what to acknowledge."""

    code: str
    what: Said
    why: Said
    ack: Said | None = None


@dataclass(frozen=True)
class Impact:
    """A consequence with its source, said in the active language when read."""

    code: str
    source: str
    what: Said
    why: Said
    ack: Said | None = None

    @property
    def text(self) -> str:
        return said_text(self.what)

    @property
    def reason_text(self) -> str:
        return said_text(self.why)

    @property
    def source_text(self) -> str:
        return gettext(SOURCES[self.source])

    @property
    def ack_text(self) -> str:
        return said_text(self.ack) if self.ack else ""


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _major(version: Any) -> int | None:
    """The major number of a version such as "1.27.1"; None when it has none."""
    return _int(str(version or "").split(".", 1)[0])


def _version_entries(facts: Facts) -> list[Mapping[str, Any]]:
    paths = (f"workloads.{component}.version" for component in COMPONENT_LABELS)
    return [entry for path in paths if (entry := facts.changed(path))]


def _all_at_once(facts: Facts) -> bool:
    """A version changes on a service that runs NiFi 1.x: every node restarts together."""
    return bool(_version_entries(facts)) and _major(facts.before("workloads.nifi.version")) == 1


def _field_labels(entries: Iterable[Mapping[str, Any]]) -> Said:
    """The changed fields' labels, each translated when said."""
    return said_join(*(said(SCALAR_FIELDS[entry["field"]][1]) for entry in entries), sep=", ")


def _moves(entries: Iterable[Mapping[str, Any]]) -> str:
    """Version moves as "NiFi 1.25.0 → 1.27.1" (names and numbers: never translated)."""
    return ", ".join(
        f"{COMPONENT_LABELS[entry['field'].split('.')[1]]} {entry['before']} → {entry['after']}"
        for entry in entries
    )


# --- The rules -------------------------------------------------------------------------------


def _version_restart(facts: Facts) -> list[Finding]:
    """NiFi 1.x upgrades a cluster's nodes together: the flows stop for the rollout."""
    if not _all_at_once(facts):
        return []
    return [
        Finding(
            "version_restart_all",
            said("Every NiFi node restarts at once: the flows stop for the length of the rollout."),
            said(
                "%(moves)s. NiFi 1.x cannot run nodes of different versions in one cluster, so "
                "all nodes are upgraded together.",
                moves=_moves(_version_entries(facts)),
            ),
        )
    ]


def _major_upgrade(facts: Facts) -> list[Finding]:
    """A new major NiFi version: back up the flow definition first."""
    entry = facts.changed("workloads.nifi.version")
    if entry is None:
        return []
    before, after = _major(entry["before"]), _major(entry["after"])
    if before is None or after is None or before == after:
        return []
    return [
        Finding(
            "major_version_backup",
            said(
                "Back up the flow definition (flow.json.gz) before you confirm: NiFi %(before)s → "
                "%(after)s is a major version change.",
                before=entry["before"],
                after=entry["after"],
            ),
            said(
                "NiFi 2.0's migration guidance: 2.x removes components and features deprecated "
                "in 1.x, so a flow may not load unchanged; a backup lets you go back."
            ),
        )
    ]


def _nifi_scale_down(facts: Facts) -> list[Finding]:
    """Fewer NiFi nodes: what is queued on the removed ones must be offloaded first."""
    entry = facts.changed("workloads.nifi.replica")
    before, after = (_int(entry["before"]), _int(entry["after"])) if entry else (None, None)
    if before is None or after is None or after >= before:
        return []
    removed = before - after
    return [
        Finding(
            "nifi_offload",
            said_n(
                "%(removed)d NiFi node is removed: data queued on it is lost unless it is "
                "offloaded first.",
                "%(removed)d NiFi nodes are removed: data queued on them is lost unless they "
                "are offloaded first.",
                "removed",
                removed=removed,
            ),
            said(
                "NiFi replicas %(before)d → %(after)d. In NiFi's cluster page, disconnect a node, "
                "then offload it: its queued data moves to the nodes that stay.",
                before=before,
                after=after,
            ),
            ack=said_n(
                "I have offloaded the NiFi node being removed, or accept that its queued data "
                "is lost.",
                "I have offloaded the %(removed)d NiFi nodes being removed, or accept that their "
                "queued data is lost.",
                "removed",
                removed=removed,
            ),
        )
    ]


def _zookeeper_quorum(facts: Facts) -> list[Finding]:
    """ZooKeeper works while a majority of its servers run: say what a new count tolerates."""
    entry = facts.changed("workloads.zookeeper.replica")
    before, after = (_int(entry["before"]), _int(entry["after"])) if entry else (None, None)
    if before is None or after is None or before == after or min(before, after) < 1:
        return []
    down_before, down_after = (before - 1) // 2, (after - 1) // 2
    why = said(
        "ZooKeeper replicas %(before)d → %(after)d. An ensemble works while a majority of its "
        "servers run.",
        before=before,
        after=after,
    )
    if down_after == 0 < down_before:
        what = said(
            "ZooKeeper loses its fault tolerance: with a single server, its restart or loss "
            "stops NiFi's cluster coordination."
        )
        return [Finding("zookeeper_no_fault_tolerance", what, why)]
    what = said(
        "ZooKeeper keeps working with up to %(down_after)d of its %(after)d servers down "
        "(before: %(down_before)d of %(before)d).",
        down_after=down_after,
        after=after,
        down_before=down_before,
        before=before,
    )
    return [Finding("zookeeper_quorum", what, why)]


def _pods_restart(facts: Facts) -> list[Finding]:
    """A changed pod spec (cpu, memory, image) restarts that component's pods."""
    if _all_at_once(facts):
        return []  # the version line already says every node restarts
    findings = []
    for component, name in COMPONENT_LABELS.items():
        paths = (f"workloads.{component}.{attr}" for attr in ("cpu", "memory", "version"))
        entries = [entry for path in paths if (entry := facts.changed(path))]
        if not entries:
            continue
        if _int(facts.after(f"workloads.{component}.replica")) == 1:
            what = said(
                "%(component)s's only pod restarts: %(component)s is unavailable until it is back.",
                component=name,
            )
        else:
            what = said(
                "%(component)s's pods restart one after another (a rolling restart).",
                component=name,
            )
        why = said(
            "%(fields)s changes the pod spec, and Kubernetes replaces the pods to apply it.",
            fields=_field_labels(entries),
        )
        findings.append(Finding("pods_restart", what, why))
    return findings


def _hosts_restart(facts: Facts) -> list[Finding]:
    """New host aliases reach /etc/hosts only when the pods start again."""
    touched = any(
        entry["section"] == "Host aliases" or entry["field"] == "host_alias_enabled"
        for entry in facts.entries
    )
    if not touched or not (facts.before("host_alias_enabled") or facts.after("host_alias_enabled")):
        return []  # switched off before and after: the pods' /etc/hosts stays as it is
    return [
        Finding(
            "hosts_restart",
            said("The pods restart to pick up the new /etc/hosts."),
            said(
                "Kubernetes writes host aliases into /etc/hosts when a pod starts; a changed "
                "list changes the pod spec."
            ),
        )
    ]


DURATION_SCOPES = {
    "service": gettext_noop("this service"),
    "connection": gettext_noop("the services of this SCP connection"),
    "all": gettext_noop("all services"),
}


def _duration(facts: Facts) -> list[Finding]:
    """How long past changes took, from the closest history that holds enough of them."""
    past = facts.durations
    if not facts.entries or past is None or past.count < DURATION_MIN_CHANGES:
        return []  # nothing to send, nothing to time
    what = said(
        "It will likely take about %(median)s; 9 in 10 past changes took at most %(p90)s.",
        median=duration_said(past.median),
        p90=duration_said(past.p90),
    )
    why = said_n(
        "The median and 90th percentile of %(count)d past change of %(scope)s that ended "
        "Succeeded or Applied with differences, from confirm to the end.",
        "The median and 90th percentile of %(count)d past changes of %(scope)s that ended "
        "Succeeded or Applied with differences, from confirm to the end.",
        "count",
        count=past.count,
        scope=said(DURATION_SCOPES[past.scope]),
    )
    return [Finding("duration", what, why)]


Rule = Callable[[Facts], list[Finding]]
# The table: each rule with its source, in the order the consequences are listed.
RULES: tuple[tuple[str, Rule], ...] = (
    (NIFI_DOCS, _version_restart),
    (NIFI_DOCS, _major_upgrade),
    (NIFI_DOCS, _nifi_scale_down),
    (ZOOKEEPER_DOCS, _zookeeper_quorum),
    (KUBERNETES, _pods_restart),
    (KUBERNETES, _hosts_restart),
    (HISTORY, _duration),
)


def impact_preview(
    *,
    entries: Iterable[Mapping[str, Any]],
    config: Mapping[str, Any],
    durations: Durations | None = None,
) -> list[Impact]:
    """The consequences of a change whose diff is `entries` on a service holding `config`."""
    facts = Facts(entries=tuple(entries), config=config, durations=durations)
    return [
        Impact(finding.code, source, finding.what, finding.why, finding.ack)
        for source, rule in RULES
        for finding in rule(facts)
    ]


def duration_said(seconds: float) -> Said:
    """A duration as "1 h 5 min" / "4 min 10 s" / "12 s", said in the reader's language."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return said("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    if minutes:
        return said("%(minutes)d min %(seconds)d s", minutes=minutes, seconds=secs)
    return said("%(seconds)d s", seconds=secs)


def durations_of(seconds: list[float], *, scope: str) -> Durations | None:
    """Median and 90th percentile (nearest rank) of `seconds`; None below the minimum count."""
    if len(seconds) < DURATION_MIN_CHANGES:
        return None
    ordered = sorted(seconds)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return Durations(statistics.median(ordered), p90, len(ordered), scope)


def durations_past(*, service: Service) -> Durations | None:
    """How long the console's past changes took: this service's, else its connection's, else
    all; None when fewer than DURATION_MIN_CHANGES ended Succeeded or Applied with differences."""
    done = ChangeRequest.objects.filter(status__in=DONE, finished_at__isnull=False).exclude(
        kind=ChangeRequest.Kind.OUTSIDE
    )
    scopes = (
        ("service", done.filter(service=service)),
        ("connection", done.filter(service__connection_name=service.connection_name)),
        ("all", done),
    )
    for scope, changes in scopes:
        rows = changes.order_by("-finished_at").values_list("created_at", "finished_at")
        seconds = [(end - start).total_seconds() for start, end in rows[:DURATION_MAX_CHANGES]]
        if (found := durations_of(seconds, scope=scope)) is not None:
            return found
    return None
