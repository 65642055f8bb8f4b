"""The workers' own rows: which worker processes are alive."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
