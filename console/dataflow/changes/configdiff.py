"""Field-by-field comparison of two service configurations (ServiceConfig.to_dict() form).

One flattening serves three jobs: the review page's diff, applying a planned edit on top of
SCP's current configuration, and checking what SCP applied against what was requested.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

COMPONENT_LABELS = {"nifi": "NiFi", "nifi_registry": "NiFi Registry", "zookeeper": "ZooKeeper"}

# path -> (section, label); the order is the order of the form and of the review page.
# Sections and labels are stored in English with each diff (code compares them); pages and
# sentences translate them when shown (`gettext(label)`, `{% translate entry.label %}`).
SCALAR_FIELDS: dict[str, tuple[str, str]] = {
    "account_id": (gettext_noop("Account"), gettext_noop("Account id")),
    "domain": (gettext_noop("Network"), gettext_noop("Domain")),
    "node_selector": (gettext_noop("Network"), gettext_noop("Node selector")),
    # The switch that decides whether the list reaches the pods: "Host aliases: off → on".
    "host_alias_enabled": (gettext_noop("Network"), gettext_noop("Host aliases")),
    "workloads.nifi.cpu": (gettext_noop("Workloads"), gettext_noop("NiFi CPU")),
    "workloads.nifi.memory": (gettext_noop("Workloads"), gettext_noop("NiFi memory")),
    "workloads.nifi.replica": (gettext_noop("Workloads"), gettext_noop("NiFi replicas")),
    "workloads.nifi.version": (gettext_noop("Workloads"), gettext_noop("NiFi version")),
    "workloads.nifi_registry.cpu": (gettext_noop("Workloads"), gettext_noop("NiFi Registry CPU")),
    "workloads.nifi_registry.memory": (
        gettext_noop("Workloads"),
        gettext_noop("NiFi Registry memory"),
    ),
    "workloads.nifi_registry.replica": (
        gettext_noop("Workloads"),
        gettext_noop("NiFi Registry replicas"),
    ),
    "workloads.nifi_registry.version": (
        gettext_noop("Workloads"),
        gettext_noop("NiFi Registry version"),
    ),
    "workloads.zookeeper.cpu": (gettext_noop("Workloads"), gettext_noop("ZooKeeper CPU")),
    "workloads.zookeeper.memory": (gettext_noop("Workloads"), gettext_noop("ZooKeeper memory")),
    "workloads.zookeeper.replica": (gettext_noop("Workloads"), gettext_noop("ZooKeeper replicas")),
    "workloads.zookeeper.version": (gettext_noop("Workloads"), gettext_noop("ZooKeeper version")),
    "description": (gettext_noop("Description"), gettext_noop("Description")),
}
SECTIONS = [
    gettext_noop("Account"),
    gettext_noop("Network"),
    gettext_noop("Host aliases"),
    gettext_noop("Workloads"),
    gettext_noop("Description"),
]
# The password's row and the kinds of a change, for the same translation when shown.
OTHER_WORDS = (
    gettext_noop("Password"),
    gettext_noop("changed"),
    gettext_noop("added"),
    gettext_noop("removed"),
    gettext_noop("yes"),
    gettext_noop("no"),
    gettext_noop("on"),
    gettext_noop("off"),
)
SWITCHES = ("host_alias_enabled",)  # shown as "on"/"off", translated when shown


def cpu_display(millicores: Any) -> str:
    """Millicores as people read them: 2000 -> "2 vCPU", 500 -> "0.5 vCPU"."""
    try:
        value = int(millicores) / 1000
    except (TypeError, ValueError):
        return "—"
    return f"{value:g} vCPU"


def memory_display(mib: Any) -> str:
    """MiB as people read them: 1024 -> "1 GiB", 512 -> "512 MiB"."""
    try:
        value = int(mib)
    except (TypeError, ValueError):
        return "—"
    if value >= 1024 and value % 256 == 0:
        return f"{value / 1024:g} GiB"
    return f"{value} MiB"


def _display(path: str, value: Any) -> str:
    if path in SWITCHES:
        return "on" if value is True or str(value).lower() == "true" else "off"
    if value is None or value == "":
        return "—"
    if path.endswith(".cpu"):
        return f"{value} m ({cpu_display(value)})"
    if path.endswith(".memory"):
        return f"{value} MiB ({memory_display(value)})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def flatten(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Scalars by path, and host aliases as hostname -> ip (Kubernetes keys one name once)."""
    scalars: dict[str, Any] = {}
    workloads = config.get("workloads") or {}
    for path in SCALAR_FIELDS:
        if path.startswith("workloads."):
            _, component, attr = path.split(".")
            scalars[path] = (workloads.get(component) or {}).get(attr)
        else:
            scalars[path] = config.get(path)
    aliases = {a["hostname"]: a["ip"] for a in config.get("host_aliases") or ()}
    return scalars, aliases


def unflatten(scalars: dict[str, Any], aliases: dict[str, str]) -> dict[str, Any]:
    """Inverse of `flatten` (workloads None when no workload value is known)."""
    config: dict[str, Any] = {
        path: value for path, value in scalars.items() if not path.startswith("workloads.")
    }
    workloads: dict[str, dict[str, Any]] = {}
    for path, value in scalars.items():
        if path.startswith("workloads."):
            _, component, attr = path.split(".")
            workloads.setdefault(component, {})[attr] = value
    known = any(v is not None for part in workloads.values() for v in part.values())
    config["workloads"] = workloads if known else None
    config["host_aliases"] = [{"hostname": h, "ip": ip} for h, ip in aliases.items()]
    return config


def config_diff(
    before: dict[str, Any], after: dict[str, Any], *, password_changed: bool = False
) -> list[dict[str, Any]]:
    """Every difference as a JSON-able entry, in form order; unchanged fields give nothing.

    Entry keys: section, field (path), label, kind (changed/added/removed), before, after,
    before_display, after_display, secret (the password: no values, only "changed").
    """
    entries: list[dict[str, Any]] = []
    old, old_aliases = flatten(before)
    new, new_aliases = flatten(after)
    if password_changed:
        entries.append(_entry("Account", "account_password", "Password", "changed", None, None))
        entries[-1].update(secret=True, before_display="•••", after_display="changed")
    for path, (section, label) in SCALAR_FIELDS.items():
        if _norm(old.get(path)) != _norm(new.get(path)):
            entries.append(_entry(section, path, label, "changed", old.get(path), new.get(path)))
    for hostname in sorted(old_aliases.keys() | new_aliases.keys()):
        was, now = old_aliases.get(hostname), new_aliases.get(hostname)
        if was == now:
            continue
        kind = "added" if was is None else "removed" if now is None else "changed"
        entries.append(_entry("Host aliases", f"host_aliases.{hostname}", hostname, kind, was, now))
    section_order = {name: i for i, name in enumerate(SECTIONS)}
    entries.sort(key=lambda e: section_order[e["section"]])  # stable: keeps form order inside
    return entries


def config_apply(
    current: dict[str, Any], base: dict[str, Any], desired: dict[str, Any]
) -> dict[str, Any]:
    """`current` with exactly the edits that turn `base` into `desired` applied on top."""
    cur, cur_aliases = flatten(current)
    old, old_aliases = flatten(base)
    new, new_aliases = flatten(desired)
    for path in SCALAR_FIELDS:
        if _norm(old.get(path)) != _norm(new.get(path)):
            cur[path] = new.get(path)
    for hostname in old_aliases.keys() | new_aliases.keys():
        if old_aliases.get(hostname) == new_aliases.get(hostname):
            continue
        if hostname in new_aliases:
            cur_aliases[hostname] = new_aliases[hostname]
        else:
            cur_aliases.pop(hostname, None)
    return unflatten(cur, cur_aliases)


def diff_summary(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Counts by section, for the review page's headline."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["section"]] = counts.get(entry["section"], 0) + 1
    return counts


def _entry(
    section: str, path: str, label: str, kind: str, before: Any, after: Any
) -> dict[str, Any]:
    return {
        "section": section,
        "field": path,
        "label": label,
        "kind": kind,
        "before": before,
        "after": after,
        "before_display": _display(path, before),
        "after_display": _display(path, after),
        "secret": False,
    }


def _norm(value: Any) -> Any:
    # "", None and False all mean "not set"; numbers may arrive as strings from old snapshots.
    if value is None or value == "" or value is False:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def edits_held(
    current: dict[str, Any], base: dict[str, Any], desired: dict[str, Any]
) -> bool | None:
    """Whether `current` already holds every edit that turns `base` into `desired`.

    None when the edits hold nothing that can be read back (a password-only change).
    """
    cur, cur_aliases = flatten(current)
    old, old_aliases = flatten(base)
    new, new_aliases = flatten(desired)
    checked = False
    for path in SCALAR_FIELDS:
        if _norm(old.get(path)) != _norm(new.get(path)):
            checked = True
            if _norm(cur.get(path)) != _norm(new.get(path)):
                return False
    for hostname in old_aliases.keys() | new_aliases.keys():
        if old_aliases.get(hostname) != new_aliases.get(hostname):
            checked = True
            if cur_aliases.get(hostname) != new_aliases.get(hostname):
                return False
    return True if checked else None


def edits_overridden(
    current: dict[str, Any], base: dict[str, Any], desired: dict[str, Any]
) -> list[str]:
    """The labels of fields the edits set that `current` holds with a third value.

    Someone changed the same field after the change was planned on `base`: applying the edits
    would silently replace their value.
    """
    cur, cur_aliases = flatten(current)
    old, old_aliases = flatten(base)
    new, new_aliases = flatten(desired)
    labels = [
        label
        for path, (_section, label) in SCALAR_FIELDS.items()
        if _norm(old.get(path)) != _norm(new.get(path))
        and _norm(cur.get(path)) not in (_norm(old.get(path)), _norm(new.get(path)))
    ]
    labels += [
        hostname
        for hostname in sorted(old_aliases.keys() | new_aliases.keys())
        if old_aliases.get(hostname) != new_aliases.get(hostname)
        and cur_aliases.get(hostname) not in (old_aliases.get(hostname), new_aliases.get(hostname))
    ]
    return labels
