"""SCP's edge limit, end to end: the command and a real worker process share one request budget.

The scenario of SCP_API.md §8: 60 services behind an edge that lets 40 requests a minute
through and answers the rest with HTTP 417 and an HTML page. It takes a few minutes, as SCP's
minute does.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from console.celery import app
from console.dataflow.connections.budget import budget_read
from console.dataflow.models import ChangeRequest, Service
from tests.dataflow.helpers import raise_memory, submit_edit
from tests.worker_process import ROOT, WorkerProcess, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = ChangeRequest.Status
EDGE_LIMIT = 40


def _refused(scp) -> list[dict]:
    return [r for r in scp.requests() if r["status"] == 417]


@pytest.fixture
def sixty_services_behind_the_edge(scp):
    """55 services besides the simulator's 5 demo ones, and the edge limit switched on."""
    for number in range(55):
        scp.add_service(data_flow_service_name=f"edge-{number:02d}")
    scp.clear_requests()
    scp.fault(edge_limit=EDGE_LIMIT)
    return scp


@pytest.mark.timeout(600)
def test_sixty_services_behind_a_40_a_minute_edge_then_a_change_with_a_refreshing_worker(
    sixty_services_behind_the_edge, admin_user, settings
):
    scp = sixty_services_behind_the_edge
    queue = f"edge-{uuid.uuid4().hex[:10]}"
    env = worker_env(
        queue=queue, scp_url=scp.url, access_key=scp.access_key, secret_key=scp.secret_key
    )

    # An operator imports the services, as the README says.
    started = time.monotonic()
    command = subprocess.run(
        [sys.executable, "manage.py", "sync_services"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    took = time.monotonic() - started
    assert command.returncode == 0, command.stdout + command.stderr
    assert Service.objects.count() == 60
    assert "SCP throttled" in command.stdout
    first_refused = len(_refused(scp))
    assert 1 <= first_refused <= 12, first_refused  # a handful at the start
    # Paced at the limit it learnt, not at a crawl: 60 services in a few minutes.
    assert took < 240, took
    budget = budget_read("default")
    assert budget.ceiling is not None and budget.ceiling <= EDGE_LIMIT

    # A worker that refreshes when it starts, and a change made right after.
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    worker = WorkerProcess(queue=queue, env={**env, "CONSOLE_TEST_SYNC_AT_START": "1"})
    worker.start()
    try:
        service = Service.objects.get(name="sales-etl")
        change = submit_edit(service, admin_user, raise_memory)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            change.refresh_from_db()
            if change.is_final:
                break
            time.sleep(0.5)
        events = [str(e) for e in change.events.all()]
        assert change.status == Status.SUCCEEDED, (events, worker.output()[-3000:])
        assert len(scp.applied_puts(service.scp_id)) == 1
        # The rate has settled: the worker's refresh and the change drew no refusal.
        assert len(_refused(scp)) == first_refused, events
    finally:
        worker.stop()
        app.conf.task_default_queue = previous
