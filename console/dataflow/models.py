"""Rows of the console: SCP connections, imported services, change requests and their events."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.dataflow.connections import crypto
from console.dataflow.connections.endpoints import validate_scp_url
from console.dataflow.words.events import said_text
from console.scp.versions import SUPPORT_WARNING_DAYS

DEFAULT_CONNECTION = "default"


class ScpConnection(models.Model):
    """An extra SCP OpenAPI endpoint with its keys; `default` comes from the SCP_* variables."""

    class Language(models.TextChoices):
        ENGLISH = "en-US", "en-US"
        KOREAN = "ko-KR", "ko-KR"

    name = models.SlugField(max_length=50, unique=True)
    base_url = models.URLField(
        help_text=_("e.g. https://data-flow.kr-west1.e.samsungsdscloud.com"),
        max_length=300,
        validators=[validate_scp_url],
    )
    access_key = models.CharField(max_length=200)
    secret_key_encrypted = models.TextField(editable=False, blank=True)
    api_version = models.CharField(max_length=50, default="data-flow 1.1")
    language = models.CharField(max_length=10, choices=Language, default=Language.ENGLISH)
    enabled = models.BooleanField(default=True)
    # Four-eyes: a confirmed change of a service of this connection waits for a team lead.
    needs_approval = models.BooleanField(
        _("changes need approval"),
        default=False,
        help_text=_("A confirmed change waits until a team lead or another admin approves it."),
    )
    # Where a Slack-compatible message goes when a change of this connection's services ends.
    # The URL carries the webhook's own token: encrypted like the secret key, shown masked.
    webhook_url_encrypted = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("SCP connection")

    def __str__(self) -> str:
        return self.name

    def set_secret_key(self, secret: str) -> None:
        """Store the secret key encrypted; it is never readable back through a form."""
        self.secret_key_encrypted = crypto.encrypt(secret)

    def get_secret_key(self) -> str:
        """The secret key in clear text, for signing only."""
        return crypto.decrypt(self.secret_key_encrypted)

    def set_webhook_url(self, url: str) -> None:
        """Store the webhook URL encrypted ("" removes it); it is never shown in clear again."""
        self.webhook_url_encrypted = crypto.encrypt(url.strip())

    def get_webhook_url(self) -> str:
        """The webhook URL in clear text, for posting only; "" when there is none."""
        return crypto.decrypt(self.webhook_url_encrypted)

    def webhook_url_masked(self) -> str:
        """The webhook's scheme and host with the rest hidden, or "" without a webhook."""
        if not self.webhook_url_encrypted:
            return ""
        try:
            parts = urlsplit(self.get_webhook_url())
        except (crypto.SecretUnreadable, ValueError):
            return "•••"
        return f"{parts.scheme}://{parts.hostname or ''}/•••"


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


# The change lifecycle, one row per status: its phase and the only moves out of it.
# `lifecycle.change_create` and `lifecycle.change_move` enforce it; every status set below is
# read off this table, never written again.
LIFECYCLE: dict[str, tuple[str, frozenset[str]]] = {
    # approved (then sent); rejected by an approver; withdrawn by its author
    "awaiting_approval": ("waiting", frozenset({"queued", "rejected", "cancelled"})),
    # claimed by a worker; withdrawn by a person; given up (attempt cap, abandoned)
    "queued": ("waiting", frozenset({"submitting", "cancelled", "failed"})),
    # 202 (or an earlier PUT found under way); a transient fault sends it back to the queue;
    # SCP already held every reviewed value (nothing sent); a permanent fault
    "submitting": ("sending", frozenset({"queued", "accepted", "succeeded", "failed"})),
    # SCP shows the update; it ended; an unconfirmed PUT that SCP never showed is sent again
    "accepted": (
        "tracking",
        frozenset({"updating", "succeeded", "different", "failed", "queued"}),
    ),
    "updating": ("tracking", frozenset({"succeeded", "different", "failed"})),
    "succeeded": ("final", frozenset()),
    "different": ("final", frozenset()),
    "failed": ("final", frozenset()),
    "cancelled": ("final", frozenset()),
    "rejected": ("final", frozenset()),
    # created final by a refresh from SCP; never in flight, never moved
    "outside": ("final", frozenset()),
}
TRANSITIONS: dict[str, frozenset[str]] = {status: moves for status, (_, moves) in LIFECYCLE.items()}
FINAL = [status for status, (phase, _) in LIFECYCLE.items() if phase == "final"]
IN_FLIGHT = [status for status in LIFECYCLE if status not in FINAL]
# SCP accepted the update: the console reads the service until it is final.
TRACKING = [status for status, (phase, _) in LIFECYCLE.items() if phase == "tracking"]
# SCP may hold the update (a worker claimed it, or SCP accepted it): abandonable once stuck.
WITH_SCP = [status for status, (phase, _) in LIFECYCLE.items() if phase in ("sending", "tracking")]
# The statuses a change is created in: confirmed (with or without approval), or found by a
# refresh.
INITIAL = ["awaiting_approval", "queued", "outside"]


class Decided(models.Model):
    """Four-eyes: who approved or rejected a change or a fleet change, when and why (the
    decision fields of both, defined once)."""

    decision = models.CharField(max_length=10, blank=True)  # "approved", "rejected" or ""
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        abstract = True

    def decision_fields(self) -> dict:
        """The decision as field values, to carry it to another row (a fleet's to its changes)."""
        names = ("decision", "decided_by_id", "decided_by_name", "decided_at", "decision_comment")
        return {name: getattr(self, name) for name in names} if self.decision else {}


class ChangeRequest(Decided):
    """One requested change of a service, from the confirmed review to SCP's final state."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        QUEUED = "queued", _("Queued")
        SUBMITTING = "submitting", _("Submitting")
        ACCEPTED = "accepted", _("Accepted")
        UPDATING = "updating", _("Updating")
        SUCCEEDED = "succeeded", _("Succeeded")
        DIFFERENT = "different", _("Applied with differences")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")
        # Recorded final by a refresh: a configuration no change of the console explains.
        OUTSIDE = "outside", _("Changed outside the console")

    class Kind(models.TextChoices):
        FULL = "full", _("Configuration")
        HOST_ALIASES = "host_aliases", _("Host aliases")
        OUTSIDE = "outside", _("Outside the console")

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="changes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.FULL)
    reason = models.TextField()
    ticket = models.CharField(max_length=100, blank=True)
    base_revision = models.PositiveIntegerField()
    base_config = models.JSONField()
    desired_config = models.JSONField()
    # The new NiFi account password, encrypted; erased once the change is final.
    account_password_encrypted = models.TextField(blank=True)
    password_changed = models.BooleanField(default=False)
    diff = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A PUT went out but its answer never came back (timeout, lost worker): SCP may have it.
    put_unconfirmed = models.BooleanField(default=False)
    # SCP has shown this change's update under way (UPDATING after the PUT, or the reviewed
    # values read back); before that a RUNNING or ERROR state is the old one.
    update_seen = models.BooleanField(default=False)
    # SCP's modified_dt read just before the first PUT: evidence for a password-only change.
    scp_modified_before = models.DateTimeField(null=True, blank=True)
    # The worker holding the change while it is Submitting: "<node>|<main pid>".
    claimed_by = models.CharField(max_length=200, blank=True)
    # Accept-Language sent to SCP for this change: the author's language.
    language = models.CharField(max_length=10, default="en-US")
    polls = models.PositiveIntegerField(default=0)
    poll_errors_in_a_row = models.PositiveSmallIntegerField(default=0)
    # Transient answers (throttling, 5xx, timeouts) are waited out until then; set at the
    # first one (SCP_RETRY_PATIENCE_MINUTES later).
    retry_until = models.DateTimeField(null=True, blank=True)
    scp_answer = models.JSONField(null=True, blank=True)  # the 202 body, secrets redacted
    error = models.JSONField(null=True, blank=True)  # ScpError.to_dict() or a console reason
    differences = models.JSONField(default=list)  # requested vs observed, once RUNNING
    web_url_nifi = models.CharField(max_length=500, blank=True)
    web_url_registry = models.CharField(max_length=500, blank=True)
    # For a change seen outside the console: SCP's modified_by and modified_dt, as reported.
    scp_modified_by = models.CharField(max_length=150, blank=True)
    scp_modified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    track_deadline = models.DateTimeField(null=True, blank=True)
    # When the next step is due: the send (queued) or the next poll (accepted, updating). The
    # workers' dispatcher sends the task when it is; no step waits in the broker.
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # When a task was last sent for this change: one message per due step, again only if lost.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # SCP's pre-check verdict as the author saw it when confirming (Precheck.to_dict()).
    precheck = models.JSONField(null=True, blank=True)
    fleet = models.ForeignKey(
        "FleetChange", on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One change in flight per service, whatever view or worker tries to add another.
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(status__in=IN_FLIGHT),
                name="one_change_in_flight_per_service",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_poll_at"]),
            # The history pages newest first, the service list reads each service's last change.
            models.Index(fields=["-created_at", "-id"], name="change_newest_first"),
            models.Index(fields=["service", "-created_at", "-id"], name="change_service_newest"),
            models.Index(fields=["status", "-created_at"], name="change_status_newest"),
        ]

    def __str__(self) -> str:
        return f"Change #{self.pk} of {self.service}"

    def get_absolute_url(self) -> str:
        return reverse("dataflow:change-detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status not in IN_FLIGHT

    @property
    def error_text(self) -> str:
        """The error's sentence in the reader's language (`said`), else as it was stored."""
        if not self.error:
            return ""
        return said_text(self.error.get("said")) or str(self.error.get("message") or "")

    @property
    def status_meaning(self) -> str:
        """What the status means for this change, from what the console knows of it."""
        if self.status in ("accepted", "updating") and self.put_unconfirmed:
            # No 202 came: SCP may or may not have the update.
            return str(UNCONFIRMED_MEANING)
        return STATUS_MEANINGS[self.status]

    @property
    def is_outside(self) -> bool:
        """Recorded by a refresh, not made through the console."""
        return self.kind == ChangeRequest.Kind.OUTSIDE

    @property
    def duration(self):
        if self.is_outside:
            return None  # SCP says when it was modified, not how long it took
        if self.finished_at:
            return self.finished_at - self.created_at
        return None


STATUS_MEANINGS = {
    ChangeRequest.Status.AWAITING_APPROVAL: _(
        "Waiting for a team lead (or another admin) to approve it; nothing is sent before."
    ),
    ChangeRequest.Status.QUEUED: _("Waiting for a worker to send it to SCP."),
    ChangeRequest.Status.SUBMITTING: _("A worker is sending the signed update to SCP."),
    ChangeRequest.Status.ACCEPTED: _("SCP accepted the update (202 Accepted) and will apply it."),
    ChangeRequest.Status.UPDATING: _("SCP is applying the change; the service is updating."),
    ChangeRequest.Status.SUCCEEDED: _(
        "The service runs again with exactly the requested configuration."
    ),
    ChangeRequest.Status.DIFFERENT: _(
        "The service runs again, but some fields differ from what was requested."
    ),
    ChangeRequest.Status.FAILED: _("The change did not go through; SCP's answer says why."),
    ChangeRequest.Status.CANCELLED: _("Withdrawn before it was sent to SCP."),
    ChangeRequest.Status.REJECTED: _("Rejected by an approver; it was never sent to SCP."),
    ChangeRequest.Status.OUTSIDE: _(
        "A refresh from SCP found a configuration that no change of the console explains."
    ),
}


UNCONFIRMED_MEANING = _(
    "SCP's answer to the update was lost: the console follows the service to learn whether it "
    "arrived, and sends it again only if SCP never shows it."
)


class ChangeEvent(models.Model):
    """A step on a change's timeline: a status reached, a retry, a poll that saw something."""

    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=ChangeRequest.Status)
    # What happened, as a template and its parameters (console.dataflow.words.events), said in the
    # reader's language; `message` keeps it in English (rows older than `said` hold only that).
    said = models.JSONField(null=True, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.status}: {self.message}"

    @property
    def text(self) -> str:
        """The event in the reader's language (as stored, for a row older than `said`)."""
        return said_text(self.said) if self.said else self.message


class ChangeAttempt(models.Model):
    """One attempt at sending a change to SCP, and what came of it."""

    class Outcome(models.TextChoices):
        SENDING = "sending", _("Sending")
        ACCEPTED = "accepted", _("Accepted (202)")
        ANSWER_LOST = "answer_lost", _("Answer lost")
        REFUSED = "refused", _("Refused by SCP")
        TRANSIENT = "transient", _("SCP unavailable")
        THROTTLED = "throttled", _("Throttled by SCP")
        WORKER_LOST = "worker_lost", _("Worker stopped")
        FOUND_UPDATING = "found_updating", _("Found the earlier attempt under way")
        FOUND_APPLIED = "found_applied", _("Found the reviewed values applied")
        ALREADY_HELD = "already_held", _("SCP already held the values")
        NOT_SENT = "not_sent", _("Not sent")

    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    put_sent = models.BooleanField(default=False)
    outcome = models.CharField(max_length=20, choices=Outcome, default=Outcome.SENDING)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    global_request_id = models.CharField(max_length=100, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["number", "pk"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of change #{self.change_id}: {self.outcome}"


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


class ConnectionStatus(models.Model):
    """The last verdict on one SCP connection: endpoint, keys, API version, round trip."""

    # What SCP's version list says of the configured version, beside SCP's own words.
    NOT_LISTED = "NOT_LISTED"
    REFUSED = "REFUSED"  # answered 406 NoSuchVersion while the list was unreadable
    FINE = ("CURRENT", "SUPPORTED")

    name = models.SlugField(max_length=50, unique=True)
    checked_at = models.DateTimeField()
    ok = models.BooleanField(default=False)
    endpoint_ok = models.BooleanField(default=False)
    # None when the check never got as far as a signed call.
    keys_ok = models.BooleanField(null=True, blank=True)
    api_version = models.CharField(max_length=50, blank=True)
    # CURRENT, SUPPORTED, PLANNED, DEPRECATED, NOT_LISTED, REFUSED; "" when unknown.
    version_status = models.CharField(max_length=20, blank=True)
    # The version's last supported day, SCP's `not_before`, whatever its status (SCP_API.md §8).
    version_date = models.DateField(null=True, blank=True)
    current_version = models.CharField(max_length=50, blank=True)
    round_trip_ms = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("SCP connection status")
        verbose_name_plural = _("SCP connection statuses")

    def __str__(self) -> str:
        return f"{self.name}: {'OK' if self.ok else 'FAILED'}"

    @property
    def version_label(self) -> str:
        """The version's status in words for a badge."""
        labels = {
            self.NOT_LISTED: _("not listed"),
            self.REFUSED: _("refused (406)"),
            "": _("unknown"),
        }
        return str(labels.get(self.version_status, self.version_status))

    @property
    def version_days_left(self) -> int | None:
        """Days from today to the last supported day (negative once passed); None without one."""
        if self.version_date is None:
            return None
        return (self.version_date - timezone.localdate()).days

    @property
    def version_days_ago(self) -> int | None:
        """Days since the last supported day passed; None while it has not."""
        days = self.version_days_left
        return -days if days is not None and days < 0 else None

    @property
    def version_colour(self) -> str:
        """Badge colour: green fine, yellow deprecated or near its end, red unusable or past it."""
        days = self.version_days_left
        if days is not None and days < 0:
            return "danger"
        if not self.version_status:
            return "secondary"
        if self.version_status in self.FINE:
            return "warning" if days is not None and days <= SUPPORT_WARNING_DAYS else "success"
        return "warning" if self.version_status == "DEPRECATED" else "danger"


class Preference(models.Model):
    """One person's own settings: the time zone and the language of their pages and mail."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_preference"
    )
    # An IANA name (e.g. "Asia/Seoul"); "" means the site's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)
    # "" follows the browser; otherwise one of settings.LANGUAGES.
    language = models.CharField(max_length=10, blank=True, choices=settings.LANGUAGES)

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'site time zone'}, {self.language or 'browser'}"


class Watch(models.Model):
    """A person who wants to hear when a change of a service ends."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_watches"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "service"], name="one_watch_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} watches {self.service}"


class FleetChange(Decided):
    """One host-alias edit across many services: a canary first, then waves, stop at a failure."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        RUNNING = "running", _("Running")
        STOPPED = "stopped", _("Stopped at a failure")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Finished with failures")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    # The edit, as the fleet form stated it: {"action": "replace_ip", "old": ..., "new": ...},
    # {"action": "add_lines", "lines": ...} or {"action": "remove_host", "hostname": ...}.
    edit = models.JSONField()
    edit_summary = models.CharField(max_length=300)
    ticket = models.CharField(max_length=100)
    reason = models.TextField()
    wave_size = models.PositiveSmallIntegerField(default=5)
    status = models.CharField(max_length=20, choices=Status, default=Status.RUNNING)
    # The author's language (en-US or ko-KR, as ChangeRequest.language): the workers write the
    # fleet's notes and its members' timelines in it.
    language = models.CharField(max_length=10, default="en-US")
    # The last wave started (1 is the canary); the claim on a new wave is a guarded update on it.
    wave = models.PositiveSmallIntegerField(default=0)
    stop_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Fleet change #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("dataflow:fleet-detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in FLEET_FINAL

    @property
    def stop_reason_text(self) -> str:
        """Why it stopped or was cancelled, in the reader's language (as stored before events
        were facts)."""
        if not self.stop_reason:
            return ""
        last = self.events.filter(status__in=("stopped", "cancelled")).order_by("-at", "-pk")
        event = last.first()
        return event.text if event is not None and event.said else self.stop_reason


# The fleet change lifecycle: the only moves there are (`fleet_lifecycle.fleet_move` enforces
# them, with an event per move); the final statuses are those with no move out.
FLEET_LIFECYCLE: dict[str, frozenset[str]] = {
    # approved as a whole; rejected; withdrawn or cancelled by its author or an admin
    "awaiting_approval": frozenset({"running", "rejected", "cancelled"}),
    # a member failed (stop); every member done (succeeded, or failed if any failed); cancelled
    "running": frozenset({"stopped", "succeeded", "failed", "cancelled"}),
    # resumed past the failure; cancelled for good
    "stopped": frozenset({"running", "cancelled"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
    "rejected": frozenset(),
}
FLEET_FINAL = [status for status, moves in FLEET_LIFECYCLE.items() if not moves]
FLEET_INITIAL = ["awaiting_approval", "running"]


class FleetEvent(models.Model):
    """A step of a fleet change: created, approved, stopped at a failure, resumed, finished."""

    fleet = models.ForeignKey(FleetChange, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=FleetChange.Status)
    # As for ChangeEvent: the sentence as facts (console.dataflow.words.events), its English beside.
    said = models.JSONField(null=True, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.status}: {self.message}"

    @property
    def text(self) -> str:
        return said_text(self.said) if self.said else self.message


class FleetMember(models.Model):
    """One service of a fleet change: its plan at preview time and, once started, its change."""

    class State(models.TextChoices):
        EXCLUDED = "excluded", _("Not included")  # flagged or unchanged at preview
        WAITING = "waiting", _("Waiting")
        STARTING = "starting", _("Starting")
        STARTED = "started", _("Started")
        SKIPPED = "skipped", _("Skipped")  # at its wave, the edit no longer changed anything
        FAILED = "failed", _("Failed")  # failed, or could not start; stopped the fleet
        CANCELLED = "cancelled", _("Cancelled")

    fleet = models.ForeignKey(FleetChange, on_delete=models.CASCADE, related_name="members")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=State, default=State.WAITING)
    wave = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    # The plan at preview time (the diff the person confirmed); re-planned when its wave starts.
    base_revision = models.PositiveIntegerField(null=True, blank=True)
    diff = models.JSONField(default=list)
    change = models.OneToOneField(
        ChangeRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["fleet", "service"], name="one_member_per_service")
        ]

    def __str__(self) -> str:
        return f"{self.service} in fleet change #{self.fleet_id}"


class ScpBudget(models.Model):
    """The shared request budget of one SCP connection (connections.budget owns it).

    Read and written by the budget through a connection of its own; on SQLite the budget
    lives in a file of its own instead and this table stays empty.
    """

    name = models.CharField(max_length=50, unique=True)
    state = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("SCP request budget")

    def __str__(self) -> str:
        return self.name


class WorkerBeat(models.Model):
    """A live worker process: its identity (node, pid, start token) and when it last beat.

    A change's claim names the identity of the process that holds it; a claim is taken back
    only from a process that stopped beating (or, for a worker's own claims, that holds no task
    for it), never from a live one: two workers with one node name never take each other's.
    """

    identity = models.CharField(max_length=200, unique=True)
    node = models.CharField(max_length=150)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["node", "identity"]

    def __str__(self) -> str:
        return self.identity


class RateLimitHit(models.Model):
    """One counted attempt of a limited action: a password reset request, a wrong password.

    `key` is a digest of what is counted (a client address, an email address, a user id), so
    no address is stored in clear; rows older than a day are pruned as new ones come.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["scope", "key", "at"], name="ratelimit_lookup"),
            models.Index(fields=["at"], name="ratelimit_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} at {self.at:%Y-%m-%d %H:%M:%S}"


class SsoIdentity(models.Model):
    """The identity-provider account a person signs in with (console.sso owns it).

    A person is found by the provider's issuer and subject, never by mail address or name, so
    an account at the identity provider can never take over a local (break-glass) account.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    # The provider's groups at the last sign-in, as the role mapping saw them.
    groups = models.JSONField(default=list, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject})"
