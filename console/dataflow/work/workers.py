"""Which process holds what: worker identities, their heartbeats, and whether one is alive.

A claim on a change names one process beyond doubt: its Celery node name, the pid of the
worker's main process and a token drawn when that process started. Two workers started with
the same node name (two `changes@host` on one host) therefore never share an identity, and
a claim is only taken back from a process that stopped beating.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from django.utils import timezone

from console.dataflow.models import WorkerBeat

# A worker beats every dispatcher tick (a second); one silent this long is gone.
BEAT_DEAD_AFTER = timedelta(seconds=15)
# Beats of processes gone this long are forgotten.
BEAT_FORGOTTEN_AFTER = timedelta(days=1)

# Drawn once per process; a worker's main process puts its own in the environment, which its
# pool processes inherit.
_TOKEN = secrets.token_hex(4)


def worker_identity() -> str:
    """`<node>|<main pid>|<start token>` of the process running this code."""
    node = os.environ.get("CONSOLE_WORKER_NODE") or socket.gethostname()
    pid = os.environ.get("CONSOLE_WORKER_PID") or str(os.getpid())
    token = os.environ.get("CONSOLE_WORKER_TOKEN") or _TOKEN
    return f"{node}|{pid}|{token}"


def worker_identity_start(*, node: str) -> str:
    """At a worker's start (its main process): a fresh identity its pool processes inherit."""
    os.environ["CONSOLE_WORKER_NODE"] = node
    os.environ["CONSOLE_WORKER_PID"] = str(os.getpid())
    os.environ["CONSOLE_WORKER_TOKEN"] = secrets.token_hex(4)
    return worker_identity()


def worker_beat(*, identity: str, now=None) -> None:
    """Say this worker is alive (once a dispatcher tick)."""
    now = now or timezone.now()
    updated = WorkerBeat.objects.filter(identity=identity).update(seen_at=now)
    if not updated:
        WorkerBeat.objects.get_or_create(
            identity=identity,
            defaults={"node": identity.split("|", 1)[0], "started_at": now, "seen_at": now},
        )


def workers_alive(*, now=None) -> set[str]:
    """The identities of the workers that beat recently."""
    now = now or timezone.now()
    return set(
        WorkerBeat.objects.filter(seen_at__gte=now - BEAT_DEAD_AFTER).values_list(
            "identity", flat=True
        )
    )


def worker_beats_prune(*, now=None) -> int:
    """Forget the beats of processes long gone; how many."""
    now = now or timezone.now()
    deleted, _ = WorkerBeat.objects.filter(seen_at__lt=now - BEAT_FORGOTTEN_AFTER).delete()
    return deleted
