"""Import and refresh services from SCP (`manage.py sync_services`, "Refresh from SCP")."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from console.dataflow.connections import ConnectionUnavailable, connection_names, scp_client_for
from console.dataflow.models import ConfigRevision, Service, SyncRun
from console.dataflow.revisions import revision_record
from console.dataflow.scpcheck import connection_versions_refresh
from console.scp import ScpClient, ScpError, ServiceDetail

logger = logging.getLogger(__name__)


def service_apply_detail(*, service: Service, detail: ServiceDetail) -> bool:
    """Store what SCP reports of a service; bump the config revision when the config moved."""
    config = detail.config.to_dict()
    changed = config != service.config
    previous_revision, previous_config = service.config_revision, service.config
    known = bool(service.pk)
    if changed and known:
        service.config_revision += 1
    service.config = config
    service.name = detail.name or service.name
    service.data_flow_id = detail.data_flow_id
    service.data_flow_name = detail.data_flow_name
    service.cluster_id = detail.cluster_id
    service.cluster_name = detail.cluster_name
    service.namespace_name = detail.namespace_name
    service.state = detail.state
    service.version = detail.version
    service.web_url_nifi = detail.web_url_nifi
    service.web_url_registry = detail.web_url_registry
    service.cluster_request_failed = detail.cluster_request_failed
    service.scp_created_at = detail.created_dt
    service.scp_modified_at = detail.modified_dt
    service.synced_at = timezone.now()
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


def _offered_versions(client: ScpClient, data_flow_id: str) -> dict[str, list[str]]:
    try:
        offered = client.sub_versions(data_flow_id)
    except ScpError as exc:
        # Versions on offer are a help for the form, not a reason to fail the import.
        logger.warning("sub-versions of data flow %s unavailable: %s", data_flow_id, exc.code)
        return {}
    return {
        "nifi": list(offered.nifi),
        "nifi_registry": list(offered.nifi_registry),
        "zookeeper": list(offered.zookeeper),
    }


def services_sync_connection(*, name: str) -> tuple[int, int]:
    """Import or refresh every service one connection lists; (seen, changed) counts.

    Services of this connection that the complete list no longer holds are marked gone
    (never deleted: their history stays); one that is listed again is no longer gone.
    """
    client = scp_client_for(name)
    seen = changed = 0
    offered_by_flow: dict[str, dict[str, list[str]]] = {}
    summaries = client.list_services()
    for summary in summaries:
        detail = client.get_service(summary.id)
        if detail.data_flow_id and detail.data_flow_id not in offered_by_flow:
            offered_by_flow[detail.data_flow_id] = _offered_versions(client, detail.data_flow_id)
        with transaction.atomic():
            service = (
                Service.objects.select_for_update()
                .filter(connection_name=name, scp_id=summary.id)
                .first()
            ) or Service(connection_name=name, scp_id=summary.id)
            is_new = service.pk is None
            returned = service.gone_at is not None
            service.gone_at = None
            service.offered_versions = offered_by_flow.get(detail.data_flow_id, {})
            if service_apply_detail(service=service, detail=detail) or is_new or returned:
                changed += 1
        seen += 1
    services_mark_gone(name=name, listed_ids={summary.id for summary in summaries})
    connection_versions_refresh(name=name)
    return seen, changed


def services_mark_gone(*, name: str, listed_ids: set[str]) -> int:
    """Mark the services of `name` that a complete list did not hold; how many were marked."""
    return (
        Service.objects.filter(connection_name=name, gone_at__isnull=True)
        .exclude(scp_id__in=listed_ids)
        .update(gone_at=timezone.now())
    )


def services_sync(*, run: SyncRun | None = None) -> SyncRun:
    """Refresh every connection; failures are kept on the run, one sentence per connection."""
    run = run or SyncRun.objects.create()
    errors: list[str] = []
    seen = changed = 0
    for name in connection_names() or ["default"]:
        try:
            conn_seen, conn_changed = services_sync_connection(name=name)
        except ScpError as exc:
            ref = f" (global_request_id {exc.global_request_id})" if exc.global_request_id else ""
            errors.append(f"{name}: {exc.message}{ref}")
            continue
        except ConnectionUnavailable as exc:
            errors.append(f"{name}: {exc}")
            continue
        seen += conn_seen
        changed += conn_changed
    run.services_seen = seen
    run.services_changed = changed
    run.errors = errors
    run.finished_at = timezone.now()
    run.save()
    return run


def services_sync_request(*, requested_by) -> SyncRun:
    """Start a refresh in a worker, unless one started in the last two minutes is running."""
    from celery import current_app

    recent = timezone.now() - timedelta(minutes=2)
    running = SyncRun.objects.filter(finished_at__isnull=True, requested_at__gte=recent).first()
    if running is not None:
        return running
    run = SyncRun.objects.create(requested_by=requested_by)

    def _send() -> None:
        try:
            current_app.send_task("dataflow.services_sync", args=[run.pk])
        except Exception as exc:  # kombu raises several kinds when the broker is unreachable
            logger.warning("could not enqueue the sync: %s", exc)
            SyncRun.objects.filter(pk=run.pk).update(
                finished_at=timezone.now(),
                errors=["The task queue is unreachable; try again when the workers are back."],
            )

    transaction.on_commit(_send)
    return run
