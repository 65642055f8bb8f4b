"""Services imported from SCP, the configurations SCP reported, and the refreshes that read them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from console.dataflow.models.connections import DEFAULT_CONNECTION


class Service(models.Model):
    """A Data Flow service as last read from SCP, with the configuration the console manages."""

    connection_name = models.SlugField(max_length=50, default=DEFAULT_CONNECTION)
    scp_id = models.CharField("SCP id", max_length=64)
    name = models.CharField(max_length=200)
    data_flow_id = models.CharField(max_length=64, blank=True)
    data_flow_name = models.CharField(max_length=200, blank=True)
    cluster_id = models.CharField(max_length=64, blank=True)
    cluster_name = models.CharField(max_length=200, blank=True)
    namespace_name = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=32, blank=True)
    version = models.CharField(max_length=64, blank=True)
    web_url_nifi = models.CharField(max_length=500, blank=True)
    web_url_registry = models.CharField(max_length=500, blank=True)
    cluster_request_failed = models.BooleanField(default=False)
    # ServiceConfig.to_dict() of the last detail read from SCP; never holds a password.
    config = models.JSONField(default=dict)
    # Bumped whenever `config` changes, so a form opened on an older revision is refused.
    config_revision = models.PositiveIntegerField(default=1)
    # Versions the service's data flow offers ({"nifi": [...], ...}); empty when SCP did not say.
    offered_versions = models.JSONField(default=dict, blank=True)
    scp_created_at = models.DateTimeField(null=True, blank=True)
    scp_modified_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # Set when a complete list of its connection no longer held it; cleared when it returns.
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection_name", "scp_id"], name="one_row_per_scp_service"
            )
        ]
        # The service list sorts by name and filters by state, cluster and connection.
        indexes = [
            models.Index(fields=["name"], name="service_by_name"),
            models.Index(fields=["state", "name"], name="service_by_state"),
            models.Index(fields=["cluster_name", "name"], name="service_by_cluster"),
        ]
        permissions = [
            ("edit_service", "Can edit every field of a service"),
            ("edit_host_aliases", "Can edit the host aliases of a service"),
            ("review_history", "Can review change history across services"),
            ("approve_change", "Can approve or reject changes that need approval"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("dataflow:service-detail", args=[self.pk])

    @property
    def is_gone(self) -> bool:
        """True when SCP's last complete list of this connection did not hold the service."""
        return self.gone_at is not None


class ConfigRevision(models.Model):
    """A configuration of a service as SCP reported it, one row per revision number."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    config = models.JSONField()
    observed_at = models.DateTimeField(default=timezone.now)
    # The change that explains this revision: the console's own, or the "Changed outside the
    # console" entry a refresh recorded; None for the first import and older rows.
    change = models.ForeignKey(
        "ChangeRequest", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-revision"]
        constraints = [
            models.UniqueConstraint(fields=["service", "revision"], name="one_row_per_revision")
        ]

    def __str__(self) -> str:
        return f"{self.service} r{self.revision}"


class SyncRun(models.Model):
    """One refresh of the service list from SCP: when, by whom, and what SCP answered."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    services_seen = models.PositiveIntegerField(default=0)
    services_changed = models.PositiveIntegerField(default=0)
    # One line per connection that failed, with SCP's code and global_request_id.
    errors = models.JSONField(default=list)
    # True while a worker runs this sync, else NULL: the unique constraint below admits one
    # such row, so two syncs never run at once (NULLs are distinct in a unique index).
    active = models.BooleanField(null=True, default=None, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    # How SCP's request limit shaped the run: services listed, those it did not reach before
    # its time ran out (refreshed first next time), throttling answers met, seconds waited.
    services_listed = models.PositiveIntegerField(null=True, blank=True)
    # When a task was last sent for this run (a requested run waits for the one running).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    services_unreached = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField(default=0)
    paced_seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["active"], name="one_sync_running")]

    def __str__(self) -> str:
        return f"Sync {self.requested_at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_running(self) -> bool:
        return self.finished_at is None
