"""Host aliases as /etc/hosts text: parsing a pasted hosts file and rendering the pods' view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from console.dataflow.changes.validators import HOST_ALIASES_MAX, ip_normalize, validate_hostname
from console.scp import HostAlias

HEADER = "# Entries added by HostAliases."


def hosts_parse(
    text: str, *, held: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()
) -> tuple[HostAlias, ...]:
    """Aliases from hosts-file lines (`IP name [name …]`, `#` comments, blank lines).

    A (host name, IP) pair in `held` is one SCP already holds: it passes exactly as written,
    whatever the rules say; new and edited pairs are checked. Raises ValidationError with one
    message per bad line, each naming the line.
    """
    reader = _HostsReader(held)
    for number, raw in enumerate(text.splitlines(), start=1):
        reader.line(number, raw)
    reader.count_check()
    if reader.errors:
        raise ValidationError(reader.errors)
    return tuple(reader.aliases)


class _HostsReader:
    """One pass over pasted hosts-file lines: the aliases read and each line's problems."""

    def __init__(self, held: frozenset[tuple[str, str]] | set[tuple[str, str]]) -> None:
        self.held = held
        self.held_ips = {ip for _, ip in held}
        self.aliases: list[HostAlias] = []
        self.errors: list[str] = []
        self.seen: dict[str, tuple[str, int, bool]] = {}  # name -> IP, line, held

    def line(self, number: int, raw: str) -> None:
        """Read one line: its IP, then each of its host names."""
        line = raw.split("#", 1)[0].strip()
        if not line:
            return
        written, *names = line.split()
        ip = self._ip(number, written, names)
        if ip is None:
            return
        if not names:
            self.errors.append(
                _line(number, _("write at least one host name after %(ip)s.") % {"ip": ip})
            )
            return
        for name in names:
            self._name(number, name, written=written, ip=ip)

    def _ip(self, number: int, written: str, names: list[str]) -> str | None:
        """The line's IP: as written when SCP holds all its pairs, else checked (None: bad)."""
        if written in self.held_ips and all((name, written) in self.held for name in names):
            return written
        try:
            return ip_normalize(written)
        except ValidationError as exc:
            self.errors.append(_line(number, exc.messages[0]))
            return None

    def _name(self, number: int, name: str, *, written: str, ip: str) -> None:
        # A pair SCP holds keeps its IP exactly as SCP wrote it.
        pair_ip = written if (name, written) in self.held else ip
        is_held = (name, pair_ip) in self.held
        if not is_held and not self._name_valid(number, name):
            return
        if name in self.seen:
            self._name_again(number, name, pair_ip=pair_ip, is_held=is_held)
            return
        self.seen[name] = (pair_ip, number, is_held)
        self.aliases.append(HostAlias(hostname=name, ip=pair_ip))

    def _name_valid(self, number: int, name: str) -> bool:
        try:
            validate_hostname(name)
        except ValidationError as exc:
            self.errors.append(_line(number, exc.messages[0]))
            return False
        return True

    def _name_again(self, number: int, name: str, *, pair_ip: str, is_held: bool) -> None:
        """A host name an earlier line gave: the same pair twice is harmless (one is kept)."""
        first_ip, first_line, first_held = self.seen[name]
        if first_ip == pair_ip:
            return
        if is_held and first_held:
            # SCP holds this conflict already; it is not this paste's to refuse.
            self.aliases.append(HostAlias(hostname=name, ip=pair_ip))
            return
        self.errors.append(
            _line(
                number,
                _(
                    "'%(name)s' already points at %(ip)s (line %(line)s); a host "
                    "name may have only one IP."
                )
                % {"name": name, "ip": first_ip, "line": first_line},
            )
        )

    def count_check(self) -> None:
        # More than SCP allows is refused only when the paste adds to what SCP already holds.
        if len(self.aliases) > max(HOST_ALIASES_MAX, len(self.held)):
            self.errors.append(
                _("%(count)s host names: SCP allows at most %(max)s host aliases.")
                % {"count": len(self.aliases), "max": HOST_ALIASES_MAX}
            )


def _line(number: int, problem: str) -> str:
    """One line's problem, named by its line number."""
    return _("Line %(number)s: %(problem)s") % {"number": number, "problem": problem}


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


# --- The switch: whether the list reaches the pods at all ----------------------------------
# SCP_API.md §8 (seed + user guide): `host_alias.enabled` decides whether the list reaches the
# pods' /etc/hosts; lines added while it is off change nothing in the pods.


def lines_written(before: Iterable[Mapping[str, str]], after: Iterable[Mapping[str, str]]) -> bool:
    """True when `after` adds a host name to `before` or points one of its names at a new IP."""
    held = {alias["hostname"]: alias["ip"] for alias in before}
    return any(held.get(alias["hostname"]) != alias["ip"] for alias in after)


def host_alias_switch(
    *,
    held: Mapping[str, Any],
    enabled: bool,
    aliases: Iterable[Mapping[str, str]],
    keep_off: bool,
) -> bool:
    """The switch a change asks for: as chosen, or on when it writes lines onto a list held off.

    A line written onto a switched-off list would never reach the pods, so the list is switched
    on with it, unless the person deliberately keeps it off. Removing lines never switches it.
    """
    if enabled or keep_off or held.get("host_alias_enabled"):
        return enabled
    return lines_written(held.get("host_aliases") or [], aliases)


def kept_off(held: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """True when `desired` writes lines onto a list `held` switched off and leaves it off."""
    return (
        not held.get("host_alias_enabled")
        and not desired.get("host_alias_enabled")
        and lines_written(held.get("host_aliases") or [], desired.get("host_aliases") or [])
    )


def hosts_in_pods(config: Mapping[str, Any]) -> str:
    """What the host alias list puts into each pod's /etc/hosts: nothing while it is off."""
    if not config.get("host_alias_enabled"):
        return ""
    return hosts_render(config.get("host_aliases") or [])


@dataclass(frozen=True)
class PodsHosts:
    """What a change leaves in each pod's /etc/hosts, for the review pages."""

    text: str  # the lines Kubernetes writes from the list ("" when none)
    switched_off: bool  # the list is (or stays) switched off
    switched_on: bool  # this change switches the list on
    unreached: int  # host names the list holds that the pods will not get


def pods_hosts(
    *, desired: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]
) -> PodsHosts | None:
    """The /etc/hosts a change leaves in the pods; None when it touches no host alias."""
    entries = list(entries)
    if not any(
        entry["section"] == "Host aliases" or entry["field"] == "host_alias_enabled"
        for entry in entries
    ):
        return None
    off = not desired.get("host_alias_enabled")
    return PodsHosts(
        text=hosts_in_pods(desired),
        switched_off=off,
        switched_on=not off and any(e["field"] == "host_alias_enabled" for e in entries),
        unreached=len(desired.get("host_aliases") or []) if off else 0,
    )
