"""Configuration revisions of a service: who explains each one, comparisons, and reverts.

A refresh (or a tracking poll) that finds a new configuration records a revision. A field
that moved to the value a change of the console asked for is the console's, and so is any new
value of it while that change's update may be under way (SCP applied it differently); any
other moved field was changed outside the console, even one the console changed before, and
becomes a final "Changed outside the console" entry of the history. A detail older than what
the console holds is never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from console.dataflow.changes.configdiff import (
    SCALAR_FIELDS,
    _norm,
    config_diff,
    flatten,
    unflatten,
)
from console.dataflow.changes.drafts import revision_config
from console.dataflow.changes.lifecycle import change_create
from console.dataflow.models import IN_FLIGHT, ChangeRequest, ConfigRevision, Service
from console.dataflow.words.events import said, said_join
from console.scp import ServiceDetail

Status = ChangeRequest.Status
OUTSIDE_AUTHOR = "outside the console"
# Statuses in which a change's PUT may have reached SCP, so that SCP may be applying it now.
UNDER_WAY = (Status.SUBMITTING, Status.ACCEPTED, Status.UPDATING)


def scp_modified_by(detail: ServiceDetail) -> str:
    """SCP's `modified_by` of a detail answer, as text; "" when missing or unreadable.

    Guess: SCP's documentation lists no `modified_by` in the detail answer, yet other SCP
    resources carry one (a user id or name, sometimes an object): take a string or a number,
    or the first name-like key of an object.
    """
    value = (detail.raw or {}).get("modified_by")
    if isinstance(value, dict):
        keys = ("user_name", "name", "email", "id", "user_id")
        value = next((value[key] for key in keys if value.get(key)), "")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()[:150]


def _console_candidates(service: Service, since: datetime | None) -> list[ChangeRequest]:
    """Console changes that may explain a new configuration: in flight, or finished since.

    A change awaiting approval, or scheduled for a maintenance window, explains nothing:
    nothing of it was sent.
    """
    rows = service.changes.exclude(kind=ChangeRequest.Kind.OUTSIDE).exclude(
        status__in=(Status.CANCELLED, Status.AWAITING_APPROVAL, Status.SCHEDULED)
    )
    when = Q(status__in=IN_FLIGHT)
    if since is not None:
        when |= Q(finished_at__gt=since, submitted_at__isnull=False)
    return list(rows.filter(when).order_by("created_at", "pk"))


def field_value(config: dict[str, Any], path: str) -> Any:
    """One field of a configuration as the diff names it (`host_aliases.<name>` is its IP)."""
    scalars, aliases = flatten(config)
    if path.startswith("host_aliases."):
        return aliases.get(path.split(".", 1)[1])
    return _norm(scalars.get(path))


def _under_way(change: ChangeRequest) -> bool:
    """Whether SCP may be applying this change now (its PUT may have reached SCP)."""
    return change.status in UNDER_WAY or (change.status == Status.QUEUED and change.put_unconfirmed)


def field_explainer(path: str, value: Any, candidates: list[ChangeRequest]) -> ChangeRequest | None:
    """The console change that explains `path` now holding `value`; None: changed outside.

    A change explains a field it asked for when SCP shows the value it asked for. While its
    update may be under way, any new value of that field is its own too: SCP applied it
    differently, and the change ends "Applied with differences". Any other value is outside,
    even on a field a console change touched before.
    """
    asking = [change for change in candidates if _asks_for(change, path)]
    exact = [change for change in asking if _asked_value(change, path) == value]
    if exact:
        return exact[-1]
    return next((change for change in reversed(asking) if _under_way(change)), None)


def _asks_for(change: ChangeRequest, path: str) -> bool:
    """Whether `change`'s diff names the field `path`."""
    return path in {entry.get("field") for entry in change.diff or ()}


def _asked_value(change: ChangeRequest, path: str) -> Any:
    """The value `change` asked for `path` to hold."""
    return field_value(change.desired_config or {}, path)


def revision_record(
    *,
    service: Service,
    previous_revision: int,
    previous_config: dict[str, Any],
    config: dict[str, Any],
    detail: ServiceDetail,
) -> ConfigRevision:
    """Record a new revision of `service` and say who explains it; outside fields get an entry.

    The service's console changes in flight, or finished since the previous revision was
    observed, explain the fields `field_explainer` gives them; every other moved field was
    changed outside the console.
    """
    candidates = _console_candidates(service, _observed_at(service, previous_revision))
    entries = config_diff(previous_config, config)
    explainers = _field_explainers(entries, config, candidates)
    outside = [entry for entry in entries if explainers[entry["field"]] is None]
    if outside:
        explained_by = outside_change_record(
            service=service,
            base_revision=previous_revision,
            base_config=previous_config,
            config=config,
            entries=outside,
            detail=detail,
        )
    elif entries:
        explained_by = _explaining_change([c for c in explainers.values() if c is not None])
    else:
        # Nothing a person would call a change moved (e.g. the aliases' order).
        explained_by = _explaining_change(candidates)
    return _revision_store(service=service, config=config, change=explained_by)


def _observed_at(service: Service, revision: int) -> datetime | None:
    """When `revision` of `service` was observed (None: not on record)."""
    return (
        ConfigRevision.objects.filter(service=service, revision=revision)
        .values_list("observed_at", flat=True)
        .first()
    )


def _revision_store(
    *, service: Service, config: dict[str, Any], change: ChangeRequest | None
) -> ConfigRevision:
    """The service's current revision on record, put down to `change` unless it already is."""
    revision, created = ConfigRevision.objects.get_or_create(
        service=service,
        revision=service.config_revision,
        defaults={"config": config, "change": change},
    )
    if not created and revision.change_id is None and change is not None:
        ConfigRevision.objects.filter(pk=revision.pk).update(change=change)
    return revision


def _field_explainers(
    entries: list[dict[str, Any]], config: dict[str, Any], candidates: list[ChangeRequest]
) -> dict[str, ChangeRequest | None]:
    """Each moved field's explaining console change (None: changed outside the console)."""
    return {
        entry["field"]: field_explainer(
            entry["field"], field_value(config, entry["field"]), candidates
        )
        for entry in entries
    }


def _explaining_change(ours: list[ChangeRequest]) -> ChangeRequest | None:
    """The change a revision is put down to: the first one still in flight, else the last."""
    if not ours:
        return None
    return next((change for change in ours if change.status in IN_FLIGHT), ours[-1])


def outside_change_record(
    *,
    service: Service,
    base_revision: int,
    base_config: dict[str, Any],
    config: dict[str, Any],
    entries: list[dict[str, Any]],
    detail: ServiceDetail,
) -> ChangeRequest:
    """A final "Changed outside the console" entry: created final, it never moves."""
    now = timezone.now()
    modified_by = scp_modified_by(detail)
    modified_at = detail.modified_dt
    # When it happened is SCP's modified_dt; a value in the future (clock skew) is not believed.
    happened = modified_at if modified_at is not None and modified_at <= now else now
    who = modified_by or OUTSIDE_AUTHOR
    fields = said_join(*(said(entry["label"]) for entry in entries), sep=", ")
    if modified_by:
        message = said(
            "A refresh from SCP found the service changed outside the console by %(by)s: "
            "%(fields)s.",
            by=modified_by,
            fields=fields,
        )
    else:
        message = said(
            "A refresh from SCP found the service changed outside the console: %(fields)s.",
            fields=fields,
        )
    change = change_create(
        status=Status.OUTSIDE,
        message=message,
        event_at=now,
        service=service,
        author=None,
        author_name=who,
        kind=ChangeRequest.Kind.OUTSIDE,
        reason=_("Changed outside the console; seen by a refresh from SCP."),
        base_revision=base_revision,
        base_config=base_config,
        desired_config=config,
        diff=entries,
        scp_modified_by=modified_by,
        scp_modified_at=modified_at,
        created_at=happened,
        finished_at=now,
    )
    return change


# --- Compare ------------------------------------------------------------------------------


class RevisionMissing(Exception):
    """A revision number that is not on record for this service; the message says so."""


def revision_numbers(service: Service) -> list[int]:
    """The revisions on record for a service, newest first (the current one included)."""
    numbers = set(service.revisions.values_list("revision", flat=True))
    numbers.add(service.config_revision)
    return sorted(numbers, reverse=True)


def revision_parse(service: Service, raw: object, *, label: str) -> int:
    """A revision number from a query string, or RevisionMissing with a sentence."""
    text = str(raw or "").strip()
    numbers = revision_numbers(service)
    if len(numbers) > 1:
        shown = _("r%(first)s to r%(last)s") % {"first": numbers[-1], "last": numbers[0]}
    else:
        shown = f"r{numbers[0]}"
    if not text.isdigit() or len(text) > 10:
        raise RevisionMissing(
            _("'%(label)s' must be a revision number of %(service)s (%(shown)s); got '%(text)s'.")
            % {"label": label, "service": service.name, "shown": shown, "text": text[:20]}
        )
    number = int(text)
    if number not in numbers:
        raise RevisionMissing(
            _("Revision %(number)s is not on record for %(service)s; its revisions are %(shown)s.")
            % {"number": number, "service": service.name, "shown": shown}
        )
    return number


@dataclass(frozen=True)
class Comparison:
    """Two revisions of one service and their differences, grouped like the review page."""

    older: int
    newer: int
    entries: list[dict[str, Any]]
    password_changed: bool


def revisions_compare(*, service: Service, older: int, newer: int) -> Comparison:
    """Field by field, `older` against `newer`; a password changed between them shows as such."""
    before = revision_config(service=service, revision=older) or {}
    after = revision_config(service=service, revision=newer) or {}
    low, high = sorted((older, newer))
    # Passwords are never stored: only a console change that set one can tell it changed.
    password_changed = ChangeRequest.objects.filter(
        pk__in=ConfigRevision.objects.filter(
            service=service, revision__gt=low, revision__lte=high
        ).values("change"),
        password_changed=True,
    ).exists()
    return Comparison(
        older=older,
        newer=newer,
        entries=config_diff(before, after, password_changed=password_changed),
        password_changed=password_changed,
    )


# --- Revert -------------------------------------------------------------------------------


def revert_desired(current: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """`current` with every field that differs in `old` set back to `old`'s value.

    A value the old revision does not know (SCP did not report workloads then) stays as it is
    now; the password is not part of a configuration and is never restored.
    """
    cur, cur_aliases = flatten(current)
    was, was_aliases = flatten(old)
    for path in SCALAR_FIELDS:
        if was.get(path) is not None and _norm(was[path]) != _norm(cur.get(path)):
            cur[path] = was[path]
    return unflatten(cur, dict(was_aliases) if old.get("host_aliases") is not None else cur_aliases)


def detail_is_stale(
    *, service: Service, detail: ServiceDetail, read_at: datetime | None = None
) -> bool:
    """Whether `detail` may be older than what the console already holds of `service`.

    Guess: SCP's `modified_dt` moves forward with every change of a service, so a detail with
    an earlier one than the console holds was read before that change. Without it, a read that
    started (`read_at`) before the console last stored the service may predate that write.
    """
    if service.pk is None:
        return False
    held, seen = service.scp_modified_at, detail.modified_dt
    if held is not None and seen is not None and seen < held:
        return True
    return read_at is not None and service.synced_at is not None and read_at < service.synced_at


def detail_values(*, service: Service, detail: ServiceDetail) -> dict[str, object]:
    """What storing `detail` sets on `service`, field by field, but when it was read."""
    return {
        "config": detail.config.to_dict(),
        "name": detail.name or service.name,
        "data_flow_id": detail.data_flow_id,
        "data_flow_name": detail.data_flow_name,
        "cluster_id": detail.cluster_id,
        "cluster_name": detail.cluster_name,
        "namespace_name": detail.namespace_name,
        "state": detail.state,
        "version": detail.version,
        "web_url_nifi": detail.web_url_nifi,
        "web_url_registry": detail.web_url_registry,
        "cluster_request_failed": detail.cluster_request_failed,
        "scp_created_at": detail.created_dt,
        "scp_modified_at": detail.modified_dt,
    }


def service_apply_detail(
    *, service: Service, detail: ServiceDetail, read_at: datetime | None = None
) -> bool:
    """Store what SCP reports of a service; bump the config revision when the config moved.

    `read_at` is when the read of `detail` started (None: just now). A detail older than what
    the console holds is not stored (False): a refresh never writes back a configuration that a
    change, a tracking poll or a newer read has already moved past.
    """
    if detail_is_stale(service=service, detail=detail, read_at=read_at):
        return False
    config = detail.config.to_dict()
    changed = config != service.config
    previous_revision, previous_config = service.config_revision, service.config
    known = bool(service.pk)
    if changed and known:
        service.config_revision += 1
    for name, value in detail_values(service=service, detail=detail).items():
        setattr(service, name, value)
    # When the stored detail was read: a read that started earlier is older than this one.
    service.synced_at = read_at or timezone.now()
    service.save()
    if changed and known:
        # A new configuration of a known service: the console's own change, or one made
        # outside the console, which the history records.
        revision_record(
            service=service,
            previous_revision=previous_revision,
            previous_config=previous_config,
            config=config,
            detail=detail,
        )
    elif changed:
        ConfigRevision.objects.get_or_create(
            service=service, revision=service.config_revision, defaults={"config": config}
        )
    return changed
