"""What a sync learnt, stored by the calling thread: batches of details, one transaction each,
and the services a complete list no longer holds."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from console.dataflow.inventory.fetching import DetailBatch
from console.dataflow.inventory.revisions import (
    detail_is_stale,
    detail_values,
    service_apply_detail,
)
from console.dataflow.models import Service


def batch_write(batch: DetailBatch) -> int:
    """Store one batch in one transaction; how many services are new, returned or changed.

    A known service of which only the read time is news (most of them, most refreshes) gets
    it with the others in one UPDATE at the end: a save each was most of a refresh's time.
    """
    changed = 0
    quiet: list[int] = []
    ids = [scp_id for scp_id, _detail in batch.details]
    with transaction.atomic():
        existing = {
            service.scp_id: service
            for service in Service.objects.select_for_update().filter(
                connection_name=batch.name, scp_id__in=ids
            )
        }
        for scp_id, detail in batch.details:
            service = existing.get(scp_id) or Service(connection_name=batch.name, scp_id=scp_id)
            is_new = service.pk is None
            returned = service.gone_at is not None
            service.gone_at = None
            offered = batch.offered.get(detail.data_flow_id, {})
            offered_moved = offered != service.offered_versions
            service.offered_versions = offered
            if detail_is_stale(service=service, detail=detail, read_at=batch.read_started):
                # Older than what the console holds: only "still listed" is news.
                service.save(update_fields=["gone_at", "offered_versions"])
                changed += returned
                continue
            known_as_listed = not (is_new or returned or offered_moved)
            if known_as_listed and _only_read_time_is_news(service, detail):
                quiet.append(service.pk)
                continue
            if service_apply_detail(service=service, detail=detail, read_at=batch.read_started):
                changed += 1  # its configuration moved
            else:
                changed += is_new or returned
        Service.objects.filter(pk__in=quiet).update(synced_at=batch.read_started or timezone.now())
    return changed


def _only_read_time_is_news(service: Service, detail) -> bool:
    """Whether storing `detail` would change nothing of `service` but when it was read."""
    values = detail_values(service=service, detail=detail)
    return all(getattr(service, name) == value for name, value in values.items())


def services_mark_gone(*, name: str, listed_ids: set[str]) -> int:
    """Mark the services of `name` that a complete list did not hold; how many were marked."""
    return (
        Service.objects.filter(connection_name=name, gone_at__isnull=True)
        .exclude(scp_id__in=listed_ids)
        .update(gone_at=timezone.now())
    )
