"""End-to-end latency of one change: submit → a real Celery worker → the simulator → Succeeded."""

from __future__ import annotations

import copy
import time
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from console.dataflow.changes.plan import change_plan
from console.dataflow.changes.submit import change_submit
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ChangeRequest, Service
from console.scp import ServiceConfig
from console.simulator.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, RunningSimulator
from tests.bench.bench_pages import bench_admin, data_wipe
from tests.bench.bench_stats import Result, timing
from tests.worker import worker_on_own_queue

GROUP = "Change pipeline"
CHANGES = 10
# Tracking polls this soon after the 202, so the figure shows the pipeline, not a wait.
FIRST_POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 30.0


def broker_shown(url: str) -> str:
    """The broker URL without any password, as the report shows it."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def queue_target_s(broker_url: str) -> float:
    """Queue wait target: the filesystem transport polls (0.1 s); a broker server pushes."""
    return 0.5 if broker_url.startswith("filesystem://") else 0.05


def _submit(service: Service, author, number: int) -> ChangeRequest:
    """Plan and submit a description edit as the review page would."""
    service.refresh_from_db()
    desired = copy.deepcopy(service.config)
    desired["description"] = f"Benchmark change {number}"
    plan = change_plan(
        service=service, desired=ServiceConfig.from_dict(desired), password_changed=False
    )
    return change_submit(plan=plan, author=author, reason=f"benchmark {number}")


def _wait_final(change: ChangeRequest) -> ChangeRequest:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        change.refresh_from_db()
        if change.is_final:
            return change
        time.sleep(0.005)
    raise AssertionError(f"change #{change.pk} still {change.status} after {TIMEOUT_SECONDS} s")


def bench_pipeline(simulator: RunningSimulator, *, changes: int = CHANGES) -> list[Result]:
    """Queue wait, submit → accepted and accepted → final, over `changes` sequential changes."""
    settings.SCP_OPENAPI_URL = simulator.url
    settings.SCP_ACCESS_KEY = DEMO_ACCESS_KEY
    settings.SCP_SECRET_KEY = DEMO_SECRET_KEY
    settings.SCP_TRACK_FIRST_POLL_SECONDS = FIRST_POLL_SECONDS
    settings.SCP_TRACK_MAX_POLL_SECONDS = 0.5
    broker = broker_shown(settings.CELERY_BROKER_URL)

    data_wipe()
    run = services_sync()
    if run.errors:
        raise AssertionError(f"import from the simulator failed: {run.errors}")
    service = Service.objects.get(name="sales-etl")
    author = bench_admin()

    queue_wait, submit_accept, accept_final, total = [], [], [], []
    with worker_on_own_queue("bench"):
        # One change first, unmeasured: connections, imports and the worker's first poll.
        _wait_final(_submit(service, author, 0))
        for number in range(1, changes + 1):
            change = _wait_final(_submit(service, author, number))
            if change.status != ChangeRequest.Status.SUCCEEDED:
                events = [str(e) for e in change.events.all()]
                raise AssertionError(f"change #{change.pk} ended {change.status}: {events}")
            queue_wait.append((change.submitted_at - change.created_at).total_seconds())
            submit_accept.append((change.accepted_at - change.submitted_at).total_seconds())
            accept_final.append((change.finished_at - change.accepted_at).total_seconds())
            total.append((change.finished_at - change.created_at).total_seconds())

    detail = {"broker": broker, "changes": changes, "first_poll_seconds": FIRST_POLL_SECONDS}
    target = queue_target_s(settings.CELERY_BROKER_URL)
    kind = broker.split("://", 1)[0]
    return [
        timing(
            GROUP,
            f"queue wait (created → submitted), {kind}",
            queue_wait,
            target_s=target,
            throughput=False,
            detail=detail,
        ),
        timing(
            GROUP,
            "submit → accepted (GET + PUT to SCP)",
            submit_accept,
            throughput=False,
            detail=detail,
        ),
        timing(
            GROUP,
            f"accepted → final (first poll after {FIRST_POLL_SECONDS * 1000:g} ms)",
            accept_final,
            throughput=False,
            detail=detail,
        ),
        timing(GROUP, "created → Succeeded, end to end", total, throughput=False, detail=detail),
    ]
