"""A real Celery worker in this process, consuming a queue of its own (tests and benchmarks)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker

from console.celery import app


@contextmanager
def worker_on_own_queue(prefix: str) -> Iterator[str]:
    """Run a threads worker on a fresh queue (the default queue meanwhile); yield its name.

    A queue per run keeps leftover messages of other runs away from this worker, and the
    queue is removed from the broker afterwards.
    """
    # The filesystem transport has no host; kombu says so on every connection.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)
    queue = f"{prefix}-{uuid.uuid4().hex[:12]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            shutdown_timeout=15,
            loglevel="WARNING",
            queues=[queue],
        ):
            yield queue
    finally:
        app.conf.task_default_queue = previous
        _queue_delete(queue)


def _queue_delete(queue: str) -> None:
    """Remove the queue and its bindings from the broker (best effort)."""
    from kombu import Exchange, Queue

    # Declared again on this connection first: a channel deletes only bindings it knows.
    declared = Queue(queue, Exchange(queue, type="direct"), routing_key=queue)
    try:
        with app.connection_for_write() as conn:
            bound = declared.bind(conn.default_channel)
            bound.declare()
            bound.delete()
    except Exception as exc:
        logging.getLogger(__name__).warning("could not delete queue %s: %s", queue, exc)
