"""Host aliases as /etc/hosts text: parsing a pasted hosts file and rendering the pods' view."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError

from console.dataflow.validators import HOST_ALIASES_MAX, validate_hostname
from console.scp import HostAlias

HEADER = "# Entries added by HostAliases."


def hosts_parse(text: str) -> tuple[HostAlias, ...]:
    """Aliases from hosts-file lines (`IP name [name …]`, `#` comments, blank lines).

    Raises ValidationError with one message per bad line, each naming the line.
    """
    aliases: list[HostAlias] = []
    errors: list[str] = []
    seen: dict[str, tuple[str, int]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        ip, *names = line.split()
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            errors.append(f"Line {number}: '{ip}' is not an IPv4 or IPv6 address.")
            continue
        if not names:
            errors.append(f"Line {number}: write at least one host name after {ip}.")
            continue
        for name in names:
            try:
                validate_hostname(name)
            except ValidationError as exc:
                errors.append(f"Line {number}: {exc.messages[0]}")
                continue
            if name in seen:
                first_ip, first_line = seen[name]
                if first_ip != ip:
                    errors.append(
                        f"Line {number}: '{name}' already points at {first_ip} (line "
                        f"{first_line}); a host name may have only one IP."
                    )
                continue  # the same pair twice is harmless: keep one
            seen[name] = (ip, number)
            aliases.append(HostAlias(hostname=name, ip=ip))
    if len(aliases) > HOST_ALIASES_MAX:
        errors.append(
            f"{len(aliases)} host names: SCP allows at most {HOST_ALIASES_MAX} host aliases."
        )
    if errors:
        raise ValidationError(errors)
    return tuple(aliases)


def hosts_render(aliases: list[dict[str, str]] | tuple[HostAlias, ...]) -> str:
    """The lines Kubernetes writes into each pod's /etc/hosts: one line per IP, names in order."""
    by_ip: dict[str, list[str]] = {}
    for alias in aliases:
        hostname, ip = (
            (alias["hostname"], alias["ip"])
            if isinstance(alias, dict)
            else (alias.hostname, alias.ip)
        )
        by_ip.setdefault(ip, []).append(hostname)
    lines = [HEADER] + [f"{ip}\t{' '.join(names)}" for ip, names in by_ip.items()]
    return "\n".join(lines) + "\n" if by_ip else ""


def hosts_text(aliases: list[dict[str, str]]) -> str:
    """Aliases as editable hosts-file text, without the header (the form's initial value)."""
    return "".join(line + "\n" for line in hosts_render(aliases).splitlines()[1:])
