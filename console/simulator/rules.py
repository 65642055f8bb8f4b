"""Validation and merging of the update body (`DataFlowServicesUpdateRequest`) by SCP's rules."""

from __future__ import annotations

import copy
import ipaddress
import re
import string
from collections.abc import Mapping
from typing import Any

COMPONENTS = ("nifi", "nifi_registry", "zookeeper")
# The sub-versions endpoint spells NiFi Registry `nifiregistry`; the update body `nifi_registry`.
SUB_VERSION_KEYS = {"nifi": "nifi", "nifi_registry": "nifiregistry", "zookeeper": "zookeeper"}
WORKLOAD_LIMITS = {"cpu": (100, 64000), "memory": (128, 262144), "replica": (1, 10)}
WORKLOAD_UNITS = {"cpu": "millicores", "memory": "MiB", "replica": "pods"}
MAX_HOST_ALIASES = 20
MAX_DESCRIPTION = 150

_TOP_LEVEL = ("account", "description", "domain", "host_alias", "node_selector", "service_workload")
_ACCOUNT_KEYS = ("account_id", "account_password")
_HOST_ALIAS_KEYS = ("enabled", "host_alias_list")
_ENTRY_KEYS = ("hostname", "ip")
_WORKLOAD_KEYS = ("cpu", "memory", "replica", "version")

_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# ASCII digits only: str.isdigit() would accept other scripts' digits.
_DECIMAL = re.compile(r"[0-9]+")


def update_validate(body: Any, *, allowed_versions: Mapping[str, set[str]] | None) -> list[str]:
    """Every rule `body` breaks, one message per bad field naming its path; empty when acceptable.

    `allowed_versions` maps each component to the versions it may run; None accepts any.
    """
    if not isinstance(body, dict):
        return ["body: must be a JSON object"]
    errors = [f"{key}: unknown field" for key in body if key not in _TOP_LEVEL]
    if "account" in body:
        errors += _account_errors(body["account"])
    if "description" in body:
        errors += _description_errors(body["description"])
    if "domain" in body:
        errors += _domain_errors(body["domain"])
    if "node_selector" in body:
        errors += _node_selector_errors(body["node_selector"])
    if "host_alias" in body:
        errors += _host_alias_errors(body["host_alias"])
    if "service_workload" in body:
        errors += workload_errors(body["service_workload"], allowed_versions=allowed_versions)
    return errors


def update_merge(current: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration `body` asks for: its fields over `current`, absent fields kept as they are.

    `body` must have passed `update_validate`. A host alias list is replaced as a whole.
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
    """Each component's requested cpu/memory/replica/version over its current values."""
    merged = copy.deepcopy(dict(current))
    for component, fields in requested.items():
        merged[component].update(fields)
    return merged


def workload_errors(
    workload: Any,
    *,
    allowed_versions: Mapping[str, set[str]] | None,
    path: str = "service_workload",
) -> list[str]:
    """Every rule a `service_workload` object breaks, each message naming the field's path."""
    if not isinstance(workload, dict):
        return [f"{path}: must be an object with nifi, nifi_registry and zookeeper"]
    errors: list[str] = []
    for component, fields in workload.items():
        where = f"{path}.{component}"
        if component not in COMPONENTS:
            errors.append(f"{where}: unknown component (use nifi, nifi_registry or zookeeper)")
            continue
        if not isinstance(fields, dict):
            errors.append(f"{where}: must be an object with cpu, memory, replica and version")
            continue
        for key, value in fields.items():
            field_path = f"{where}.{key}"
            if key not in _WORKLOAD_KEYS:
                errors.append(f"{field_path}: unknown field")
            elif not isinstance(value, str):
                errors.append(_not_a_string(field_path, value))
            elif key == "version":
                errors += _version_errors(field_path, component, value, allowed_versions)
            else:
                errors += _quantity_errors(field_path, component, key, value)
    return errors


def hosts_file_render(host_alias: Mapping[str, Any]) -> str:
    """The lines Kubernetes writes into each pod's /etc/hosts for these aliases; "" when off."""
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


def _unknown_keys(path: str, value: Mapping[str, Any], allowed: tuple[str, ...]) -> list[str]:
    """One message per key of `value` that the schema does not know."""
    return [f"{path}.{key}: unknown field" for key in value if key not in allowed]


def _account_errors(account: Any) -> list[str]:
    """Rules of the user guide for the NiFi login account."""
    if not isinstance(account, dict):
        return ["account: must be an object with account_id and account_password"]
    errors = _unknown_keys("account", account, _ACCOUNT_KEYS)
    if "account_id" in account:
        value = account["account_id"]
        if not isinstance(value, str):
            errors.append(_not_a_string("account.account_id", value))
        elif not 6 <= len(value) <= 30:
            errors.append(f"account.account_id: must be 6 to 30 characters, got {len(value)}")
    if "account_password" in account:
        value = account["account_password"]
        if not isinstance(value, str):
            errors.append(_not_a_string("account.account_password", value))
        elif not 8 <= len(value) <= 50:
            errors.append(f"account.account_password: must be 8 to 50 characters, got {len(value)}")
        elif not _password_is_mixed(value):
            errors.append(
                "account.account_password: must have upper case, lower case, digits "
                "and special characters"
            )
    return errors


def _password_is_mixed(value: str) -> bool:
    """Whether the password has an upper-case letter, a lower-case letter, a digit and a symbol."""
    return (
        any(c in string.ascii_uppercase for c in value)
        and any(c in string.ascii_lowercase for c in value)
        and any(c in string.digits for c in value)
        and any(c in string.punctuation for c in value)
    )


def _description_errors(value: Any) -> list[str]:
    """At most 150 characters."""
    if not isinstance(value, str):
        return [_not_a_string("description", value)]
    if len(value) > MAX_DESCRIPTION:
        return [f"description: must be at most {MAX_DESCRIPTION} characters, got {len(value)}"]
    return []


def _domain_errors(value: Any) -> list[str]:
    """3 to 50 characters of lower-case letters, digits and '-', not starting or ending in '-'."""
    if not isinstance(value, str):
        return [_not_a_string("domain", value)]
    if not 3 <= len(value) <= 50:
        return [f"domain: must be 3 to 50 characters, got {len(value)}"]
    if not _DOMAIN.fullmatch(value):
        return [
            "domain: use lower-case letters, digits and '-', not starting or ending with '-'; "
            f"got {value!r}"
        ]
    return []


def _node_selector_errors(value: Any) -> list[str]:
    """Required by the SCP console: a wrong or empty node label makes the installation fail."""
    if not isinstance(value, str):
        return [_not_a_string("node_selector", value)]
    if not value.strip():
        return ["node_selector: must not be empty"]
    return []


def _host_alias_errors(host_alias: Any) -> list[str]:
    """`enabled` as "true"/"false" and at most 20 valid, non-conflicting entries."""
    if not isinstance(host_alias, dict):
        return ["host_alias: must be an object with enabled and host_alias_list"]
    errors = _unknown_keys("host_alias", host_alias, _HOST_ALIAS_KEYS)
    if "enabled" in host_alias:
        value = host_alias["enabled"]
        if not isinstance(value, str):
            errors.append(_not_a_string("host_alias.enabled", value))
        elif value not in ("true", "false"):
            errors.append(f"host_alias.enabled: must be 'true' or 'false', got {value!r}")
    if "host_alias_list" in host_alias:
        errors += _host_alias_list_errors(host_alias["host_alias_list"])
    return errors


def _host_alias_list_errors(entries: Any) -> list[str]:
    """Each entry an IP and a lower-case RFC 1123 hostname; one hostname never on two IPs."""
    path = "host_alias.host_alias_list"
    if not isinstance(entries, list):
        return [f"{path}: must be an array of {{hostname, ip}} objects"]
    errors: list[str] = []
    if len(entries) > MAX_HOST_ALIASES:
        errors.append(f"{path}: at most {MAX_HOST_ALIASES} entries, got {len(entries)}")
    ip_of: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"{path}[{index}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be an object with hostname and ip")
            continue
        errors += _unknown_keys(where, entry, _ENTRY_KEYS)
        errors += [f"{where}.{key}: required" for key in _ENTRY_KEYS if key not in entry]
        ip, hostname = entry.get("ip"), entry.get("hostname")
        valid_ip = valid_hostname = ""
        if "ip" in entry:
            if not isinstance(ip, str):
                errors.append(_not_a_string(f"{where}.ip", ip))
            elif not _is_ip(ip):
                errors.append(f"{where}.ip: must be an IPv4 or IPv6 address, got {ip!r}")
            else:
                valid_ip = ip
        if "hostname" in entry:
            if not isinstance(hostname, str):
                errors.append(_not_a_string(f"{where}.hostname", hostname))
            elif problem := _hostname_problem(hostname):
                errors.append(f"{where}.hostname: {problem}, got {hostname!r}")
            else:
                valid_hostname = hostname
        if valid_ip and valid_hostname:
            ip, hostname = valid_ip, valid_hostname
            first_ip = ip_of.setdefault(hostname, ip)
            if first_ip != ip:
                errors.append(
                    f"{where}.hostname: {hostname!r} is already mapped to {first_ip}; "
                    "one hostname cannot point to two IPs"
                )
    return errors


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


def _quantity_errors(path: str, component: str, key: str, value: str) -> list[str]:
    """A positive whole number written as a string, within the component's range."""
    low, high = WORKLOAD_LIMITS[key]
    unit = WORKLOAD_UNITS[key]
    if not _DECIMAL.fullmatch(value) or int(value) == 0:
        return [f"{path}: must be a positive whole number written as a string, got {value!r}"]
    number = int(value)
    if not low <= number <= high:
        return [f"{path}: must be between {low} and {high} {unit}, got {value!r}"]
    if component == "zookeeper" and key == "replica" and number % 2 == 0:
        return [f"{path}: must be odd (1, 3, 5, 7 or 9) so that ZooKeeper keeps a quorum"]
    return []


def _version_errors(
    path: str, component: str, value: str, allowed_versions: Mapping[str, set[str]] | None
) -> list[str]:
    """The component's current version or the one its data flow offers."""
    if not value:
        return [f"{path}: must not be empty"]
    if allowed_versions is None:
        return []
    allowed = allowed_versions.get(component, set())
    if value not in allowed:
        choices = " or ".join(sorted(allowed)) or "none"
        return [f"{path}: {value!r} is not available; choose {choices}"]
    return []
