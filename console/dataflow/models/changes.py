"""A change request: its lifecycle table, the row, its timeline and its attempts at SCP."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.dataflow.models.base import Decided, TimelineEvent
from console.dataflow.models.services import Service
from console.dataflow.words.events import said_text

# The change lifecycle, one row per status: its phase and the only moves out of it.
# `lifecycle.change_create` and `lifecycle.change_move` enforce it; every status set below is
# read off this table, never written again.
LIFECYCLE: dict[str, tuple[str, frozenset[str]]] = {
    # approved (then sent, or scheduled while its connection is closed); rejected by an
    # approver; withdrawn by its author
    "awaiting_approval": ("waiting", frozenset({"queued", "scheduled", "rejected", "cancelled"})),
    # released at a maintenance window's start (or sent now by an admin); withdrawn by a person;
    # SCP changed what it sets meanwhile
    "scheduled": ("waiting", frozenset({"queued", "cancelled", "failed"})),
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
# The statuses a change is created in: confirmed (with or without approval, inside a
# maintenance window or outside one), or found by a refresh.
INITIAL = ["awaiting_approval", "scheduled", "queued", "outside"]


class ChangeRequest(Decided):
    """One requested change of a service, from the confirmed review to SCP's final state."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        # Confirmed while its connection is outside its maintenance windows (or frozen).
        SCHEDULED = "scheduled", _("Scheduled")
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
    # When the next step is due: the release (scheduled: the window's start), the send
    # (queued) or the next poll (accepted, updating). The
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
            # A status filter pages in order from the index alone, however rare the status.
            models.Index(fields=["status", "-created_at", "-id"], name="change_status_newest_id"),
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
    ChangeRequest.Status.SCHEDULED: _(
        "Waiting for the next maintenance window of its SCP connection; nothing is sent before."
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


class ChangeEvent(TimelineEvent):
    """A step on a change's timeline: a status reached, a retry, a poll that saw something."""

    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=ChangeRequest.Status)


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
    # The detail as facts (console.dataflow.words.events), said in the reader's language;
    # `detail` keeps its English (rows older than this hold only that).
    detail_said = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["number", "pk"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of change #{self.change_id}: {self.outcome}"

    @property
    def detail_text(self) -> str:
        """The detail in the reader's language (as stored, for a row older than `detail_said`)."""
        return said_text(self.detail_said) if self.detail_said else self.detail
