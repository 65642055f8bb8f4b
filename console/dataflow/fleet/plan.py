"""A fleet change's plan: the one host-alias edit, the services it selects, and the preview.

The preview plans the edit on each selected service's configuration and says, per service,
what would change or why it is left out; its token lets a confirm notice that anything moved
since the person looked.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from console.dataflow.changes.configdiff import config_diff
from console.dataflow.changes.validators import HOST_ALIASES_MAX
from console.dataflow.models import IN_FLIGHT, ChangeRequest, Service
from console.dataflow.words.events import Said, said, said_text

WAVE_SIZE_DEFAULT = 5
Aliases = list[dict[str, Any]]


# --- The edit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetEdit:
    """The one host-alias edit a fleet change applies to each service's configuration."""

    action: str  # replace_ip, add_lines, remove_host
    old_ip: str = ""
    new_ip: str = ""
    lines: tuple[tuple[str, str], ...] = ()  # (hostname, ip) pairs from hosts-file lines
    hostname: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "old_ip": self.old_ip,
            "new_ip": self.new_ip,
            "lines": [list(pair) for pair in self.lines],
            "hostname": self.hostname,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FleetEdit:
        return cls(
            action=data["action"],
            old_ip=data.get("old_ip", ""),
            new_ip=data.get("new_ip", ""),
            lines=tuple((h, ip) for h, ip in data.get("lines", [])),
            hostname=data.get("hostname", ""),
        )

    @property
    def summary(self) -> str:
        """The edit in one line, for pages and the changes' reason."""
        if self.action == "replace_ip":
            return _("Replace IP %(old)s with %(new)s") % {"old": self.old_ip, "new": self.new_ip}
        if self.action == "add_lines":
            return _("Add %(lines)s") % {"lines": ", ".join(f"{ip} {h}" for h, ip in self.lines)}
        return _("Remove host name %(hostname)s") % {"hostname": self.hostname}

    def apply(self, config: dict[str, Any]) -> dict[str, Any]:
        """The configuration with this edit applied (a new dict; host aliases only)."""
        desired = copy.deepcopy(config)
        aliases = [dict(a) for a in desired.get("host_aliases") or []]
        edits = {
            "replace_ip": self._ip_replaced,
            "add_lines": self._lines_added,
            "remove_host": self._host_removed,
        }
        edit = edits.get(self.action)
        if edit is not None:
            aliases, switch_on = edit(aliases)
            if switch_on:
                desired["host_alias_enabled"] = True
        desired["host_aliases"] = aliases
        return desired

    def _ip_replaced(self, aliases: Aliases) -> tuple[Aliases, bool]:
        """Aliases at the old IP point at the new one; switch on when any did."""
        moved = [alias for alias in aliases if alias["ip"] == self.old_ip]
        for alias in moved:
            alias["ip"] = self.new_ip
        # The new IP must reach the pods: a switched-off list is switched on.
        return aliases, bool(moved)

    def _lines_added(self, aliases: Aliases) -> tuple[Aliases, bool]:
        """The lines added, a known host name pointed anew; always switch on."""
        for hostname, ip in self.lines:
            # A host name has one IP (hosts-file semantics): a known name is pointed anew.
            known = next((a for a in aliases if a["hostname"] == hostname), None)
            if known is None:
                aliases.append({"hostname": hostname, "ip": ip})
            else:
                known["ip"] = ip
        # Lines added to a switched-off list would never reach the pods.
        return aliases, True

    def _host_removed(self, aliases: Aliases) -> tuple[Aliases, bool]:
        """The aliases without the host name; the switch stays as it is."""
        return [a for a in aliases if a["hostname"] != self.hostname], False


# --- Selection and preview ----------------------------------------------------------------


def services_select(
    *,
    name: str = "",
    state: str = "",
    cluster: str = "",
    connection: str = "",
    contains: str = "",
) -> list[Service]:
    """Services matching the filters; `contains` is an IP or host name among their aliases."""
    rows = _services_filtered(name=name, state=state, cluster=cluster, connection=connection)
    services = list(rows.distinct().order_by("name", "pk"))
    if not contains:
        return services
    needle = contains.strip().lower()
    return [service for service in services if _holds_alias(service, needle)]


def _services_filtered(*, name: str, state: str, cluster: str, connection: str) -> QuerySet:
    """Services not gone, narrowed by each filter given."""
    rows: QuerySet[Service] = Service.objects.filter(gone_at__isnull=True).order_by("name", "pk")
    if name:
        rows = rows.filter(name__icontains=name)
    if state:
        rows = rows.filter(state__iexact=state)
    if cluster:
        rows = rows.filter(cluster_name__icontains=cluster) | rows.filter(cluster_id=cluster)
    if connection:
        rows = rows.filter(connection_name=connection)
    return rows


def _holds_alias(service: Service, needle: str) -> bool:
    """True when one of the service's host aliases has `needle` as its IP or host name."""
    aliases = (service.config or {}).get("host_aliases") or []
    return any(
        needle in (alias.get("ip", "").lower(), alias.get("hostname", "").lower())
        for alias in aliases
    )


@dataclass
class PreviewRow:
    """One selected service in the preview: its diff, or why it is left out."""

    service: Service
    entries: list[dict[str, Any]] = field(default_factory=list)
    flag_said: Said | None = None  # why the edit cannot be applied, as facts (None when it can)
    unchanged: bool = False

    @property
    def flag(self) -> str:
        """Why the edit cannot be applied, in the reader's language ("" when it can)."""
        return said_text(self.flag_said) if self.flag_said else ""

    @property
    def note_said(self) -> Said | None:
        """What the member's note says: why it is left out, or None when it runs."""
        if self.flag_said:
            return self.flag_said
        return said("The edit changes nothing here.") if self.unchanged else None

    @property
    def included(self) -> bool:
        return not self.flag_said and not self.unchanged

    @property
    def switches_on(self) -> bool:
        """True when the edit switches this service's host aliases on (they were off)."""
        return any(e["field"] == "host_alias_enabled" and e["after"] is True for e in self.entries)


@dataclass
class Preview:
    """Every selected service with its own diff; the included ones run, canary first."""

    edit: FleetEdit
    rows: list[PreviewRow]

    @property
    def included(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.included]

    @property
    def token(self) -> str:
        """The edit, the included services and their revisions: confirm is refused if it moved."""
        services = ",".join(f"{r.service.pk}:{r.service.config_revision}" for r in self.included)
        edit = json.dumps(self.edit.to_dict(), sort_keys=True)
        return hashlib.sha256(f"{edit}|{services}".encode()).hexdigest()


def fleet_preview(*, services: list[Service], edit: FleetEdit) -> Preview:
    """Plan the edit on each service; flag those it cannot apply to, skip those it leaves alone."""
    busy = set(
        ChangeRequest.objects.filter(service__in=services, status__in=IN_FLIGHT).values_list(
            "service_id", flat=True
        )
    )
    rows = []
    for service in services:
        config = service.config or {}
        desired = edit.apply(config)
        entries = config_diff(config, desired)
        row = PreviewRow(service=service, entries=entries, unchanged=not entries)
        row.flag_said = _preview_flag(service, desired, entries=entries, busy=service.pk in busy)
        rows.append(row)
    return Preview(edit=edit, rows=rows)


def _preview_flag(
    service: Service, desired: dict[str, Any], *, entries: list[dict[str, Any]], busy: bool
) -> Said | None:
    """Why the edit cannot be applied to this service now, or None when it can."""
    if busy:
        return said("Another change of this service is in flight.")
    if (service.state or "").upper() != "RUNNING":
        return said(
            "SCP reports it as %(state)s, not RUNNING.", state=service.state or said("unknown")
        )
    if entries and len(desired["host_aliases"]) > HOST_ALIASES_MAX:
        return said(
            "It would have %(count)s host aliases; SCP allows at most %(max)s.",
            count=len(desired["host_aliases"]),
            max=HOST_ALIASES_MAX,
        )
    return None
