"""Validation and merging of the update body (`DataFlowServicesUpdateRequest`), each rule by source.

Every rule names where it comes from, because they deserve different trust:

- `seed`: the documented body's shape (objects, every scalar a string, `enabled` "true"/"false").
  Always applied.
- `user guide`: the limits SCP's user guide states (a translation). Applied to changed values only.
- `Kubernetes`: what Kubernetes needs to write host aliases into /etc/hosts. Changed values only.
- `guess`: what we think SCP might refuse, with no source. Off unless `guess_rules` is on.

SCP_API.md: the guide's rules apply to what a person changes, not to what SCP already holds, so a
value equal to the one held (a domain with dots, a bare node label set by another tool) passes.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMPONENTS = ("nifi", "nifi_registry", "zookeeper")
# The sub-versions endpoint spells NiFi Registry `nifiregistry`; the update body `nifi_registry`.
SUB_VERSION_KEYS = {"nifi": "nifi", "nifi_registry": "nifiregistry", "zookeeper": "zookeeper"}
WORKLOAD_LIMITS = {"cpu": (100, 64000), "memory": (128, 262144), "replica": (1, 10)}
WORKLOAD_UNITS = {"cpu": "millicores", "memory": "MiB", "replica": "pods"}
MAX_HOST_ALIASES = 20
MAX_DESCRIPTION = 150

SEED = "seed"
USER_GUIDE = "user guide"
KUBERNETES = "Kubernetes"
GUESS = "guess"
SOURCES = (SEED, USER_GUIDE, KUBERNETES, GUESS)


@dataclass(frozen=True)
class Rule:
    """One rule of the update body and the source it comes from."""

    name: str
    source: str
    says: str


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule("body_object", SEED, "the body, account, host_alias and workloads are objects"),
        Rule("scalar_string", SEED, "every scalar is a string"),
        Rule("enabled_flag", SEED, "host_alias.enabled is 'true' or 'false'"),
        Rule("alias_list_shape", SEED, "host_alias_list is an array of objects"),
        Rule("quantity_digits", SEED, "cpu, memory and replica are whole numbers in strings"),
        Rule("alias_count", USER_GUIDE, f"at most {MAX_HOST_ALIASES} host aliases"),
        Rule("description_length", USER_GUIDE, f"description at most {MAX_DESCRIPTION} chars"),
        Rule("account_id_length", USER_GUIDE, "account id 6 to 30 characters"),
        Rule("password_strength", USER_GUIDE, "password 8-50 chars, upper, lower, digit, special"),
        Rule("domain_form", USER_GUIDE, "domain 3-50 of a-z, 0-9 and '-', not ending in '-'"),
        Rule("node_selector_required", USER_GUIDE, "node selector required"),
        Rule("alias_fields", KUBERNETES, "each host alias has an ip and a hostname"),
        Rule("alias_ip", KUBERNETES, "an IPv4 or IPv6 address without zone id"),
        Rule("alias_hostname", KUBERNETES, "a lower-case RFC 1123 hostname"),
        Rule("hostname_one_ip", KUBERNETES, "one hostname on one IP"),
        Rule("quantity_range", GUESS, "cpu, memory and replica within ranges"),
        Rule("zookeeper_odd", GUESS, "an odd number of ZooKeeper replicas"),
        Rule("version_offered", GUESS, "a version is the one running or the one offered"),
        Rule("unknown_field", GUESS, "fields the documented body lacks are refused"),
    )
}

TOP_LEVEL = ("account", "description", "domain", "host_alias", "node_selector", "service_workload")
_ACCOUNT_KEYS = ("account_id", "account_password")
_HOST_ALIAS_KEYS = ("enabled", "host_alias_list")
_ENTRY_KEYS = ("hostname", "ip")
_WORKLOAD_KEYS = ("cpu", "memory", "replica", "version")

_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# ASCII digits only: str.isdigit() would accept other scripts' digits.
_DECIMAL = re.compile(r"[0-9]+")

_NOTHING = object()


class _Check:
    """One validation run: which sources apply, what SCP holds, and the messages so far."""

    def __init__(
        self,
        *,
        held: Mapping[str, Any] | None,
        allowed_versions: Mapping[str, set[str]] | None,
        guess_rules: bool,
        shape_only: bool,
    ) -> None:
        """`held` is the configuration SCP holds (None: nothing held, every value is new)."""
        self.held = held
        self.allowed_versions = allowed_versions
        self.sources = {SEED}
        if not shape_only:
            self.sources |= {USER_GUIDE, KUBERNETES}
            if guess_rules:
                self.sources.add(GUESS)
        self.errors: list[str] = []

    def refuse(self, rule: str, message: str) -> None:
        """Record `message` when `rule`'s source applies to this run."""
        if RULES[rule].source in self.sources:
            self.errors.append(message)

    def held_value(self, *keys: str) -> Any:
        """The value SCP holds at `keys` (flat config keys), or a marker equal to nothing."""
        value: Any = self.held
        for key in keys:
            if not isinstance(value, Mapping) or key not in value:
                return _NOTHING
            value = value[key]
        return value

    def string(self, path: str, value: Any) -> bool:
        """Seed: scalars are strings. True when `value` is one."""
        if isinstance(value, str):
            return True
        self.refuse("scalar_string", _not_a_string(path, value))
        return False

    def unknown(self, path: str, value: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        """Guess: keys the documented body lacks are refused."""
        prefix = f"{path}." if path else ""
        for key in value:
            if key not in allowed:
                self.refuse("unknown_field", f"{prefix}{key}: unknown field")


def update_validate(
    body: Any,
    *,
    held: Mapping[str, Any] | None = None,
    allowed_versions: Mapping[str, set[str]] | None = None,
    guess_rules: bool = False,
    shape_only: bool = False,
) -> list[str]:
    """Every rule `body` breaks, one message per bad field naming its path; empty when acceptable.

    `held` is the service's configuration: values equal to it pass the user guide's and
    Kubernetes' rules. `allowed_versions` maps each component to the versions it may run (a
    guess rule; None accepts any). `shape_only` applies the seed's shape alone.
    """
    check = _Check(
        held=held, allowed_versions=allowed_versions, guess_rules=guess_rules, shape_only=shape_only
    )
    if not isinstance(body, dict):
        check.refuse("body_object", "body: must be a JSON object")
        return check.errors
    check.unknown("", body, TOP_LEVEL)
    if "account" in body:
        _account(check, body["account"])
    if "description" in body:
        _description(check, body["description"])
    if "domain" in body:
        _domain(check, body["domain"])
    if "node_selector" in body:
        _node_selector(check, body["node_selector"])
    if "host_alias" in body:
        _host_alias(check, body["host_alias"])
    if "service_workload" in body:
        held_workload = check.held_value("service_workload")
        _workload(check, body["service_workload"], "service_workload", held_workload)
    return check.errors


def workload_errors(
    workload: Any,
    *,
    held: Mapping[str, Any] | None = None,
    allowed_versions: Mapping[str, set[str]] | None = None,
    guess_rules: bool = False,
    path: str = "service_workload",
) -> list[str]:
    """Every rule a `service_workload` object breaks, each message naming the field's path.

    `held` is the service's current workload: values equal to it pass the guess rules.
    """
    check = _Check(
        held=None, allowed_versions=allowed_versions, guess_rules=guess_rules, shape_only=False
    )
    _workload(check, workload, path, held if held is not None else _NOTHING)
    return check.errors


def update_merge(current: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration `body` asks for: its fields over `current`, absent fields kept as they are.

    `body` must have passed `update_validate`; fields it does not know are ignored. A host alias
    list is replaced as a whole.
    """
    merged = copy.deepcopy(dict(current))
    account = body.get("account", {})
    for key in _ACCOUNT_KEYS:
        if key in account:
            merged[key] = account[key]
    for key in ("description", "domain", "node_selector"):
        if key in body:
            merged[key] = body[key]
    host_alias = body.get("host_alias", {})
    if "enabled" in host_alias:
        merged["host_alias"]["enabled"] = host_alias["enabled"]
    if "host_alias_list" in host_alias:
        merged["host_alias"]["host_alias_list"] = [
            {"hostname": entry["hostname"], "ip": entry["ip"]}
            for entry in host_alias["host_alias_list"]
        ]
    merged["service_workload"] = workload_merge(
        current["service_workload"], body.get("service_workload", {})
    )
    return merged


def workload_merge(current: Mapping[str, Any], requested: Mapping[str, Any]) -> dict[str, Any]:
    """Each component's requested cpu/memory/replica/version over its current values.

    Unknown components and fields are ignored (refusing them is only a guess rule).
    """
    merged = copy.deepcopy(dict(current))
    for component, fields in requested.items():
        if component in COMPONENTS:
            merged[component].update(
                {key: value for key, value in fields.items() if key in _WORKLOAD_KEYS}
            )
    return merged


def hosts_file_render(host_alias: Mapping[str, Any]) -> str:
    """The lines Kubernetes writes into each pod's /etc/hosts for these aliases; "" when off.

    SCP's user guide: `enabled` decides whether the list reaches the pods at all, so a list
    kept while it is off gives the pods nothing.
    """
    # Guess: SCP does not document `hosts_file` for a switched-off list; "" (no line from the
    # list) is what the pods then have, and what a service created with no aliases shows.
    if host_alias.get("enabled") != "true" or not host_alias.get("host_alias_list"):
        return ""
    # Kubernetes keys host aliases by IP: every hostname of one IP lands on one line.
    by_ip: dict[str, list[str]] = {}
    for entry in host_alias["host_alias_list"]:
        by_ip.setdefault(entry["ip"], []).append(entry["hostname"])
    lines = ["# Entries added by HostAliases."]
    lines += [ip + "\t" + "\t".join(names) for ip, names in by_ip.items()]
    return "\n".join(lines) + "\n"


def _not_a_string(path: str, value: Any) -> str:
    """The message for a non-string where SCP's schema says string."""
    kind = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}.get(
        type(value), "null"
    )
    return f"{path}: must be a string, got {kind}"


def _account(check: _Check, account: Any) -> None:
    """User guide: account id 6-30 characters; password 8-50 with four kinds of character."""
    if not isinstance(account, dict):
        check.refuse(
            "body_object", "account: must be an object with account_id and account_password"
        )
        return
    check.unknown("account", account, _ACCOUNT_KEYS)
    if "account_id" in account:
        value = account["account_id"]
        changed = value != check.held_value("account_id")
        if check.string("account.account_id", value) and changed and not 6 <= len(value) <= 30:
            check.refuse(
                "account_id_length",
                f"account.account_id: must be 6 to 30 characters, got {len(value)}",
            )
    if "account_password" in account:
        value = account["account_password"]
        if not check.string("account.account_password", value):
            return
        if value == check.held_value("account_password"):
            return
        if not 8 <= len(value) <= 50:
            check.refuse(
                "password_strength",
                f"account.account_password: must be 8 to 50 characters, got {len(value)}",
            )
        elif not _password_is_mixed(value):
            check.refuse(
                "password_strength",
                "account.account_password: must have upper case, lower case, digits "
                "and special characters",
            )


def _password_is_mixed(value: str) -> bool:
    """Whether the password has an upper-case letter, a lower-case letter, a digit and a symbol."""
    return (
        any(c in string.ascii_uppercase for c in value)
        and any(c in string.ascii_lowercase for c in value)
        and any(c in string.digits for c in value)
        and any(c in string.punctuation for c in value)
    )


def _description(check: _Check, value: Any) -> None:
    """User guide: at most 150 characters."""
    if not check.string("description", value) or value == check.held_value("description"):
        return
    if len(value) > MAX_DESCRIPTION:
        check.refuse(
            "description_length",
            f"description: must be at most {MAX_DESCRIPTION} characters, got {len(value)}",
        )


def _domain(check: _Check, value: Any) -> None:
    """User guide: 3 to 50 characters of lower-case letters, digits and '-', not ending in '-'."""
    if not check.string("domain", value) or value == check.held_value("domain"):
        return
    if not 3 <= len(value) <= 50:
        check.refuse("domain_form", f"domain: must be 3 to 50 characters, got {len(value)}")
    elif not _DOMAIN.fullmatch(value):
        check.refuse(
            "domain_form",
            "domain: use lower-case letters, digits and '-', not starting or ending with '-'; "
            f"got {value!r}",
        )


def _node_selector(check: _Check, value: Any) -> None:
    """User guide: required (a wrong or empty node label makes the installation fail)."""
    if not check.string("node_selector", value) or value == check.held_value("node_selector"):
        return
    if not value.strip():
        check.refuse("node_selector_required", "node_selector: must not be empty")


def _host_alias(check: _Check, host_alias: Any) -> None:
    """Seed: `enabled` as "true"/"false"; the list as in `_host_alias_list`."""
    if not isinstance(host_alias, dict):
        check.refuse(
            "body_object", "host_alias: must be an object with enabled and host_alias_list"
        )
        return
    check.unknown("host_alias", host_alias, _HOST_ALIAS_KEYS)
    if "enabled" in host_alias:
        value = host_alias["enabled"]
        if check.string("host_alias.enabled", value) and value not in ("true", "false"):
            check.refuse(
                "enabled_flag", f"host_alias.enabled: must be 'true' or 'false', got {value!r}"
            )
    if "host_alias_list" in host_alias:
        _host_alias_list(check, host_alias["host_alias_list"])


def _host_alias_list(check: _Check, entries: Any) -> None:
    """Entries SCP holds unchanged pass; new or changed ones meet the guide's and Kubernetes' rules.

    An entry is "held" when the same hostname and IP are in the service's list now.
    """
    path = "host_alias.host_alias_list"
    if not isinstance(entries, list):
        check.refuse("alias_list_shape", f"{path}: must be an array of {{hostname, ip}} objects")
        return
    held_list = check.held_value("host_alias", "host_alias_list")
    held_list = held_list if isinstance(held_list, list) else []
    held_pairs = {(e.get("hostname"), e.get("ip")) for e in held_list if isinstance(e, dict)}
    # Guess: the limit bites when the list grows past it; a list SCP already holds beyond the
    # limit (another tool made it) may still shrink or change in place.
    if len(entries) > MAX_HOST_ALIASES and len(entries) > len(held_list):
        check.refuse(
            "alias_count", f"{path}: at most {MAX_HOST_ALIASES} entries, got {len(entries)}"
        )
    pairs = [
        (e.get("hostname"), e.get("ip"))
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("hostname"), str)
        and isinstance(e.get("ip"), str)
    ]
    held_ip_of = {hostname: ip for hostname, ip in pairs if (hostname, ip) in held_pairs}
    ip_of: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"{path}[{index}]"
        if not isinstance(entry, dict):
            check.refuse("alias_list_shape", f"{where}: must be an object with hostname and ip")
            continue
        check.unknown(where, entry, _ENTRY_KEYS)
        ip, hostname = entry.get("ip"), entry.get("hostname")
        ip_ok = "ip" not in entry or check.string(f"{where}.ip", ip)
        hostname_ok = "hostname" not in entry or check.string(f"{where}.hostname", hostname)
        if not (ip_ok and hostname_ok) or (hostname, ip) in held_pairs:
            continue
        for key in _ENTRY_KEYS:
            if key not in entry:
                check.refuse("alias_fields", f"{where}.{key}: required")
        if "ip" in entry and not _is_ip(ip):
            check.refuse("alias_ip", f"{where}.ip: must be an IPv4 or IPv6 address, got {ip!r}")
        problem = _hostname_problem(hostname) if "hostname" in entry else ""
        if problem:
            check.refuse("alias_hostname", f"{where}.hostname: {problem}, got {hostname!r}")
        if isinstance(hostname, str) and isinstance(ip, str):
            # A new entry may clash with an earlier one or with any entry SCP holds.
            other = ip_of.setdefault(hostname, ip)
            other = other if other != ip else held_ip_of.get(hostname, ip)
            if other != ip:
                check.refuse(
                    "hostname_one_ip",
                    f"{where}.hostname: {hostname!r} is already mapped to {other}; "
                    "one hostname cannot point to two IPs",
                )


def _is_ip(value: str) -> bool:
    """A plain IPv4 or IPv6 address, without a zone index."""
    if "%" in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _hostname_problem(value: str) -> str:
    """Why `value` is not a lower-case RFC 1123 subdomain as Kubernetes requires; "" if it is."""
    if not value:
        return "must not be empty"
    if len(value) > 253:
        return "must be at most 253 characters"
    if value != value.lower():
        return "must be lower case"
    if "*" in value:
        return "must not be a wildcard"
    if value.endswith("."):
        return "must not end with a dot"
    for label in value.split("."):
        if len(label) > 63:
            return "each dot-separated label must be at most 63 characters"
        if not _LABEL.fullmatch(label):
            return (
                "must be a lower-case RFC 1123 name: letters a-z, digits, '-' and '.', "
                "each label starting and ending with a letter or digit"
            )
    return ""


def _workload(check: _Check, workload: Any, path: str, held: Any) -> None:
    """Seed shape of `service_workload`; guess rules for ranges, quorum and versions."""
    if not isinstance(workload, dict):
        check.refuse(
            "body_object", f"{path}: must be an object with nifi, nifi_registry and zookeeper"
        )
        return
    for component, fields in workload.items():
        where = f"{path}.{component}"
        if component not in COMPONENTS:
            check.refuse(
                "unknown_field",
                f"{where}: unknown component (use nifi, nifi_registry or zookeeper)",
            )
            continue
        if not isinstance(fields, dict):
            check.refuse(
                "body_object", f"{where}: must be an object with cpu, memory, replica and version"
            )
            continue
        held_fields = held.get(component, {}) if isinstance(held, Mapping) else {}
        for key, value in fields.items():
            field_path = f"{where}.{key}"
            if key not in _WORKLOAD_KEYS:
                check.refuse("unknown_field", f"{field_path}: unknown field")
            elif not check.string(field_path, value):
                continue
            elif key == "version":
                if value != held_fields.get(key):
                    _version(check, field_path, component, value)
            elif not _DECIMAL.fullmatch(value):
                check.refuse(
                    "quantity_digits",
                    f"{field_path}: must be a whole number written as a string, got {value!r}",
                )
            elif value != held_fields.get(key):
                _quantity(check, field_path, component, key, value)


def _quantity(check: _Check, path: str, component: str, key: str, value: str) -> None:
    """Guess: a positive whole number within the component's range; ZooKeeper odd."""
    low, high = WORKLOAD_LIMITS[key]
    number = int(value)
    if not low <= number <= high:
        check.refuse(
            "quantity_range",
            f"{path}: must be between {low} and {high} {WORKLOAD_UNITS[key]}, got {value!r}",
        )
    elif component == "zookeeper" and key == "replica" and number % 2 == 0:
        check.refuse(
            "zookeeper_odd",
            f"{path}: must be odd (1, 3, 5, 7 or 9) so that ZooKeeper keeps a quorum",
        )


def _version(check: _Check, path: str, component: str, value: str) -> None:
    """Guess: the component's current version or the one its data flow offers."""
    if not value:
        check.refuse("version_offered", f"{path}: must not be empty")
        return
    if check.allowed_versions is None:
        return
    allowed = check.allowed_versions.get(component, set())
    if value not in allowed:
        choices = " or ".join(sorted(allowed)) or "none"
        check.refuse("version_offered", f"{path}: {value!r} is not available; choose {choices}")
