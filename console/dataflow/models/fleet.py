"""A fleet change: one host-alias edit across many services, its lifecycle, history and members."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.dataflow.models.base import Decided, TimelineEvent
from console.dataflow.models.changes import ChangeRequest
from console.dataflow.models.services import Service
from console.dataflow.words.events import said_text


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


class FleetEvent(TimelineEvent):
    """A step of a fleet change: created, approved, stopped at a failure, resumed, finished."""

    fleet = models.ForeignKey(FleetChange, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=FleetChange.Status)


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
    # The note as facts (console.dataflow.words.events); `note` keeps its English.
    note_said = models.JSONField(null=True, blank=True)
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

    @property
    def note_text(self) -> str:
        """The note in the reader's language (as stored, for a row older than `note_said`)."""
        return said_text(self.note_said) if self.note_said else self.note
