"""Abstract rows shared by the lifecycles: a decision (four eyes) and a timeline event."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from console.dataflow.words.events import Said, is_said, said_english, said_text


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

    @staticmethod
    def decided(decision: str, *, by, comment: str, at=None) -> dict:
        """The decision fields of a decision `by` makes now (or `at`): approved or rejected."""
        return {
            "decision": decision,
            "decided_by": by,
            "decided_by_name": by.get_username(),
            "decided_at": at or timezone.now(),
            "decision_comment": comment,
        }

    def decision_fields(self) -> dict:
        """The decision as field values, to carry it to another row (a fleet's to its changes)."""
        names = ("decision", "decided_by_id", "decided_by_name", "decided_at", "decision_comment")
        return {name: getattr(self, name) for name in names} if self.decision else {}


class TimelineEvent(models.Model):
    """A step of a lifecycle (a change's or a fleet change's): when, the status it reached, and
    what happened as facts (console.dataflow.words.events) said in the reader's language;
    `message` keeps the sentence in English (rows older than `said` hold only that)."""

    at = models.DateTimeField(default=timezone.now)
    said = models.JSONField(null=True, blank=True)
    message = models.TextField()

    class Meta:
        abstract = True
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.status}: {self.message}"

    @property
    def text(self) -> str:
        """The event in the reader's language (as stored, for a row older than `said`)."""
        return said_text(self.said) if self.said else self.message

    @staticmethod
    def columns(message: Said | str) -> dict:
        """A new event's columns: what happened (`said`) and its English text (`message`)."""
        if is_said(message):
            return {"said": message, "message": said_english(message)}
        return {"said": None, "message": str(message)}
