"""Helpers for page tests: the edit form's POST data as a browser sends it, and page reading."""

from __future__ import annotations

import html
import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse

from console.dataflow.changes.drafts import SESSION_KEY
from console.dataflow.models import (
    ChangeEvent,
    ChangeRequest,
    ConfigRevision,
    ScpConnection,
    Service,
    SyncRun,
)

ROW_RE = re.compile(r"<tr\b[^>]*data-testid=\"diff-row\"[^>]*>.*?</tr>", re.S)
TAG_RE = re.compile(r"<[^>]+>")


def edit_data(
    service: Service,
    *,
    aliases: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, str]:
    """The edit form as the page fills it from the service, with `fields` changed.

    A field given as None is left out; `host_alias_enabled` takes a bool. `aliases` replaces
    the rows (each a dict of hostname, ip and optionally DELETE=True); the management form
    counts the service's own aliases as the initial rows, as the rendered page does.
    """
    config = service.config
    data: dict[str, str] = {
        "base_revision": str(service.config_revision),
        "account_id": config["account_id"],
        "account_password": "",
        "domain": config["domain"],
        "node_selector": config["node_selector"],
        "description": config["description"],
    }
    if config["host_alias_enabled"]:
        data["host_alias_enabled"] = "on"
    for component, workload in config["workloads"].items():
        for attr, value in workload.items():
            data[f"{component}_{attr}"] = str(value)
    rows = config["host_aliases"] if aliases is None else aliases
    data.update(
        {
            "aliases-TOTAL_FORMS": str(len(rows)),
            "aliases-INITIAL_FORMS": str(len(config["host_aliases"])),
            "aliases-MIN_NUM_FORMS": "0",
            "aliases-MAX_NUM_FORMS": "20",
        }
    )
    for index, row in enumerate(rows):
        data[f"aliases-{index}-hostname"] = row["hostname"]
        data[f"aliases-{index}-ip"] = row["ip"]
        if row.get("DELETE"):
            data[f"aliases-{index}-DELETE"] = "on"
    for name, value in fields.items():
        if value is None or value is False:
            data.pop(name, None)
        elif value is True:
            data[name] = "on"
        else:
            data[name] = str(value)
    return data


def page_text(response: HttpResponse) -> str:
    """The page's HTML with entities decoded, so messages read as people see them."""
    return html.unescape(response.content.decode())


def visible_text(response: HttpResponse) -> str:
    """The page's text without tags, whitespace collapsed."""
    return " ".join(html.unescape(TAG_RE.sub(" ", response.content.decode())).split())


def diff_rows(response: HttpResponse) -> dict[str, dict[str, str]]:
    """The diff rows of a page by data-field: their kind and their visible text."""
    rows = {}
    for match in ROW_RE.finditer(response.content.decode()):
        row = match.group(0)
        field = re.search(r'data-field="([^"]*)"', row).group(1)
        kind = re.search(r'data-kind="([^"]*)"', row).group(1)
        text = " ".join(html.unescape(TAG_RE.sub(" ", row)).split())
        rows[html.unescape(field)] = {"kind": kind, "text": text}
    return rows


def drafts_in_session(client) -> dict[str, Any]:
    """The edit drafts the client's session holds."""
    return dict(client.session.get(SESSION_KEY, {}))


def row_counts() -> dict[str, int]:
    """How many rows every table a page could write holds."""
    return {
        model.__name__: model.objects.count()
        for model in (
            ChangeRequest,
            ChangeEvent,
            SyncRun,
            ConfigRevision,
            ScpConnection,
            Service,
        )
    }


def change_row(
    service: Service, author: AbstractBaseUser, status: str, **fields: Any
) -> ChangeRequest:
    """A change row in a given status, as the pipeline would have left it."""
    desired = {**service.config, "description": "changed by a test"}
    values: dict[str, Any] = {
        "service": service,
        "author": author,
        "author_name": author.get_username(),
        "reason": "Planned maintenance",
        "base_revision": service.config_revision,
        "base_config": service.config,
        "desired_config": desired,
        "diff": [
            {
                "section": "Description",
                "field": "description",
                "label": "Description",
                "kind": "changed",
                "before": service.config.get("description"),
                "after": "changed by a test",
                "before_display": service.config.get("description") or "—",
                "after_display": "changed by a test",
                "secret": False,
            }
        ],
        "status": status,
    }
    values.update(fields)
    return ChangeRequest.objects.create(**values)


def _aliases(*rows: tuple[str, str]) -> list[dict[str, str]]:
    return [{"hostname": hostname, "ip": ip} for hostname, ip in rows]


# (case id, changes to the edit form, what the message says is allowed)
INVALID_EDITS: list[tuple[str, dict[str, Any], str]] = [
    ("account-id-too-short", {"account_id": "admin"}, "Use 6 to 30 characters; got 5."),
    ("account-id-too-long", {"account_id": "a" * 31}, "Use 6 to 30 characters; got 31."),
    ("password-too-short", {"account_password": "Ab1!xyz"}, "Use 8 to 50 characters."),
    ("password-too-long", {"account_password": "Ab1!" + "x" * 47}, "Use 8 to 50 characters."),
    (
        "password-without-upper-case",
        {"account_password": "lower1!case"},
        "The password needs an upper-case letter.",
    ),
    (
        "password-without-lower-case",
        {"account_password": "UPPER1!CASE"},
        "The password needs a lower-case letter.",
    ),
    ("password-without-digit", {"account_password": "NoDigits!!x"}, "The password needs a digit."),
    (
        "password-without-special",
        {"account_password": "NoSpecial123"},
        "The password needs a special character such as !@#$%.",
    ),
    (
        "password-with-two-classes-missing",
        {"account_password": "onlylowercase"},
        "The password needs an upper-case letter, a digit, a special character",
    ),
    (
        "domain-upper-case",
        {"domain": "Sales"},
        "Use 3 to 50 lower-case letters, digits and '-', not starting or ending with '-'; "
        "got 'Sales'.",
    ),
    ("domain-underscore", {"domain": "sales_01"}, "got 'sales_01'"),
    ("domain-ending-with-dash", {"domain": "sales-"}, "not starting or ending with '-'"),
    ("domain-too-short", {"domain": "ab"}, "Use 3 to 50 lower-case letters"),
    ("description-too-long", {"description": "d" * 151}, "at most 150 characters"),
    (
        "node-selector-without-value",
        {"node_selector": "nodepool"},
        "Write the node label as key=value (several joined by commas), "
        "e.g. 'nodepool=dataflow'; got 'nodepool'.",
    ),
    ("node-selector-without-key", {"node_selector": "=dataflow"}, "key=value"),
    (
        "node-selector-bad-label-value",
        {"node_selector": "nodepool=data flow"},
        "The label value 'data flow' may hold letters, digits, '-', '_' and '.'.",
    ),
    (
        "hostname-upper-case",
        {"aliases": _aliases(("DB.corp.internal", "10.0.0.5"))},
        "Not a valid host name (use lower case only); got 'DB.corp.internal'.",
    ),
    (
        "hostname-wildcard",
        {"aliases": _aliases(("*.corp.internal", "10.0.0.5"))},
        "Not a valid host name (wildcards are not allowed); got '*.corp.internal'.",
    ),
    (
        "hostname-trailing-dot",
        {"aliases": _aliases(("db.corp.internal.", "10.0.0.5"))},
        "Not a valid host name (remove the trailing dot); got 'db.corp.internal.'.",
    ),
    (
        "hostname-underscore",
        {"aliases": _aliases(("db_1.corp.internal", "10.0.0.5"))},
        "use lower-case letters, digits, '-' and '.'",
    ),
    (
        "ip-invalid",
        {"aliases": _aliases(("db.corp.internal", "10.0.0.300"))},
        "'10.0.0.300' is not an IPv4 or IPv6 address.",
    ),
    (
        "ip-with-zone-id",
        {"aliases": _aliases(("db.corp.internal", "fe80::1%eth0"))},
        "SCP and Kubernetes refuse zone ids such as %eth0; write the address without it",
    ),
    (
        "hostname-on-two-ips",
        {"aliases": _aliases(("db.corp.internal", "10.0.0.5"), ("db.corp.internal", "10.0.0.6"))},
        "'db.corp.internal' points at both 10.0.0.5 and 10.0.0.6: "
        "a host name may have only one IP.",
    ),
    (
        "more-than-20-aliases",
        {"aliases": _aliases(*((f"h{n}.corp.internal", f"10.0.1.{n}") for n in range(21)))},
        "SCP allows at most 20 host aliases; remove some rows.",
    ),
    ("cpu-below-minimum", {"nifi_cpu": 99}, "greater than or equal to 100"),
    ("cpu-above-maximum", {"nifi_registry_cpu": 64001}, "less than or equal to 64000"),
    ("memory-below-minimum", {"zookeeper_memory": 127}, "greater than or equal to 128"),
    ("memory-above-maximum", {"nifi_memory": 262145}, "less than or equal to 262144"),
    ("replica-zero", {"nifi_replica": 0}, "greater than or equal to 1"),
    ("replica-above-maximum", {"nifi_replica": 11}, "less than or equal to 10"),
    (
        "zookeeper-replica-even",
        {"zookeeper_replica": 2},
        "ZooKeeper needs an odd number of replicas for a quorum (1, 3, 5 …); got 2.",
    ),
    (
        "version-not-offered",
        {"nifi_version": "9.9.9"},
        "Choose a version SCP offers for this data flow: 1.27.1; got '9.9.9'.",
    ),
]
