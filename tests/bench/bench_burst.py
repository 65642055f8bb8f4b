"""500 changes confirmed at once through a real worker, against the plain loop that does the
same work: a signed PUT per service, then GETs until SCP shows it RUNNING again, as many at a
time as the worker runs tasks, each thread on a keep-alive session.

The worker is `celery -A console worker` in a process of its own (prefork, as deployed and as
the README starts the changes' worker with `--concurrency 4`): a worker thread in the bench's
own process would share its interpreter lock with the bench's polling loop and the web side's
confirms, which would make the pipeline look slower than it is, and a worker without the
process pool's hand-offs faster than it is.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.conf import settings
from django.db.models import Count

from console.celery import app
from console.dataflow.models import ChangeRequest, Service
from console.scp import ScpClient, ServiceConfig, build_update_body
from console.simulator.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.bench.bench_stats import Result, timing

FINAL = ["succeeded", "different", "failed", "cancelled"]
# The bench's shortened tracking: the first poll this soon after the 202, then growing to the
# ceiling (the pipeline's own schedule, which the plain loop follows too).
FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5
# How many tasks the worker runs at once: the README's changes worker.
WORKER_CONCURRENCY = 4


@contextmanager
def worker_process(prefix: str, url: str, *, concurrency: int, **env: str) -> Iterator:
    """`celery -A console worker` (prefork) on a queue of its own, talking to the simulator at
    `url`; this process sends its tasks to that queue meanwhile. Yields the WorkerProcess."""
    from tests.worker import _queue_delete
    from tests.worker_process import WorkerProcess, worker_env

    queue = f"{prefix}-{uuid.uuid4().hex[:12]}"
    worker = WorkerProcess(
        queue=queue,
        env=worker_env(
            queue=queue,
            scp_url=url,
            access_key=DEMO_ACCESS_KEY,
            secret_key=DEMO_SECRET_KEY,
            **env,
        ),
        concurrency=concurrency,
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        app.conf.task_default_queue = previous
        _queue_delete(queue)


def cpu_seconds(*marks: str) -> dict[str, float]:
    """CPU seconds (user + system) used so far by every process whose command line holds a
    mark (the simulator's port, the worker's queue, the run's database name), and by this one."""
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(marks, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        for mark in marks:
            if mark in command:
                used[mark] += (int(fields[11]) + int(fields[12])) / tick
    times = os.times()
    used["bench"] = times.user + times.system
    return used


def _cpu_used(before: dict[str, float], after: dict[str, float], names: dict[str, str]):
    """CPU seconds per process kind between two `cpu_seconds` readings, by readable name."""
    return {names.get(key, key): round(after[key] - before[key], 1) for key in after}


def scp_settings(url: str) -> None:
    """Point this process's default connection at the simulator at `url`."""
    settings.SCP_OPENAPI_URL = url
    settings.SCP_ACCESS_KEY = DEMO_ACCESS_KEY
    settings.SCP_SECRET_KEY = DEMO_SECRET_KEY


def _client(url: str) -> ScpClient:
    return ScpClient(base_url=url, access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)


def _put_until_running(client: ScpClient, scp_id: str, body: dict) -> int:
    """One signed PUT, then GETs on the pipeline's schedule until RUNNING; how many GETs."""
    client.update_service(scp_id, body)
    polls = 0
    delay = FIRST_POLL_SECONDS
    while True:
        time.sleep(delay)
        polls += 1
        if client.get_service(scp_id).is_state("RUNNING"):
            return polls
        delay = min(MAX_POLL_SECONDS, FIRST_POLL_SECONDS * 1.5 ** (polls + 1))


def plain_loop(url: str, services: list[Service], *, concurrency: int) -> tuple[float, int]:
    """The anchor: PUT + GETs until RUNNING per service, `concurrency` threads, one keep-alive
    client per thread. Seconds taken and GETs made."""
    import threading

    local = threading.local()
    clients: list[ScpClient] = []
    bodies = []
    for service in services:
        config = ServiceConfig.from_dict({**service.config, "description": "plain PUT"})
        bodies.append((service.scp_id, build_update_body(config)))

    def one(pair: tuple[str, dict]) -> int:
        if not hasattr(local, "client"):
            local.client = _client(url)
            clients.append(local.client)
        return _put_until_running(local.client, *pair)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        polls = sum(pool.map(one, bodies))
    took = time.perf_counter() - started
    for client in clients:
        client.close()
    return took, polls


def tasks_run(log: str) -> dict[str, int]:
    """How many tasks of each name the worker received, from its log."""
    import re

    counts: dict[str, int] = {}
    for name in re.findall(r"Task (\S+?)\[[^\]]+\] received", log):
        counts[name] = counts.get(name, 0) + 1
    return counts


def _postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _wait_all_final(ids: set[int], timeout: float) -> None:
    pending = set(ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending -= set(
            ChangeRequest.objects.filter(pk__in=pending, status__in=FINAL).values_list(
                "pk", flat=True
            )
        )
        time.sleep(0.05)
    if pending:
        raise AssertionError(f"{len(pending)} changes not final after {timeout:g} s")


def queries_per_change(url: str, service: Service, author) -> dict[str, int]:
    """SQL queries of one change's steps, each run here directly (no broker): the confirm, the
    send (read SCP, mark, PUT, accepted) and the poll that finds it RUNNING."""
    from django.db import connection

    from console.dataflow.changes.send import change_send
    from console.dataflow.changes.track import change_track
    from console.dataflow.work import queueing
    from tests.bench.bench_pipeline import _submit

    scp_settings(url)
    counts = {"confirm": 0, "send": 0, "track": 0}

    @contextmanager
    def counted(step: str):
        def count(execute, sql, params, many, context):
            counts[step] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            yield

    sent: list[tuple] = []
    real_send = queueing.task_send
    queueing.task_send = lambda *args: sent.append(args) or True  # counted, not queued
    try:
        with counted("confirm"):
            change = _submit(service, author, 0)
        with counted("send"):
            change_send(change_id=change.pk)
        time.sleep(FIRST_POLL_SECONDS * 2)
        with counted("track"):
            change_track(change_id=change.pk)
    finally:
        queueing.task_send = real_send
    change.refresh_from_db()
    if change.status != ChangeRequest.Status.SUCCEEDED:
        raise AssertionError(f"the counted change ended {change.status}")
    return counts


def bench_pipeline_burst(*, changes: int = 500) -> list[Result]:
    """`changes` changes confirmed at once through a worker process vs the plain loop."""
    from console.dataflow.inventory.sync import services_sync
    from tests.bench.bench_pages import bench_admin, data_wipe
    from tests.bench.bench_pipeline import _submit
    from tests.bench.bench_scale import simulator_process

    concurrency = WORKER_CONCURRENCY
    group = f"Pipeline, {changes} changes at once"
    with simulator_process(services=changes + 5, latency=0.0) as url:
        scp_settings(url)
        settings.SCP_TRACK_FIRST_POLL_SECONDS = FIRST_POLL_SECONDS
        settings.SCP_TRACK_MAX_POLL_SECONDS = MAX_POLL_SECONDS
        data_wipe()
        assert not services_sync().errors
        services = list(Service.objects.order_by("name")[:changes])
        author = bench_admin()

        port = f"--port {url.rsplit(':', 1)[1]}"
        database = settings.DATABASES["default"]["NAME"] if _postgres() else "(no server)"
        names = {port: "simulator", database: "database"}
        before = cpu_seconds(port, database)
        plain, plain_polls = plain_loop(url, services, concurrency=concurrency)
        plain_cpu = _cpu_used(before, cpu_seconds(port, database), names)
        # The console learns what the plain loop wrote (unmeasured), so its changes are sent.
        assert not services_sync().errors
        counted = queries_per_change(url, Service.objects.order_by("name")[changes], author)

        with worker_process(
            "bench-burst",
            url,
            concurrency=concurrency,
            SCP_TRACK_FIRST_POLL_SECONDS=str(FIRST_POLL_SECONDS),
            SCP_TRACK_MAX_POLL_SECONDS=str(MAX_POLL_SECONDS),
        ) as worker:
            queue = worker.queue
            before = cpu_seconds(port, database, queue)
            started = time.perf_counter()
            submitted = [_submit(service, author, n) for n, service in enumerate(services, 1)]
            confirmed = time.perf_counter() - started
            _wait_all_final({c.pk for c in submitted}, timeout=600)
            pipeline = time.perf_counter() - started
            names[queue] = "worker"
            pipeline_cpu = _cpu_used(before, cpu_seconds(port, database, queue), names)
            tasks = tasks_run(worker.output())
    done = ChangeRequest.objects.filter(pk__in=[c.pk for c in submitted])
    outcomes = dict(done.values_list("status").annotate(n=Count("pk")))
    polls = sum(done.values_list("polls", flat=True))
    totals = [(c.finished_at - c.created_at).total_seconds() for c in done]
    detail = {
        "outcomes": outcomes,
        "concurrency": concurrency,
        "worker": f"celery worker process, prefork, concurrency {concurrency}",
        "first_poll_seconds": FIRST_POLL_SECONDS,
        "pipeline_polls": polls,
        "plain_polls": plain_polls,
        "queries_per_change": counted,
        "tasks_run": tasks,
        # Where the machine's CPU went in each run ("bench": the confirms and this process).
        "cpu_seconds_plain": plain_cpu,
        "cpu_seconds_pipeline": pipeline_cpu,
        "broker": settings.CELERY_BROKER_URL.split("://")[0],
    }
    if outcomes != {"succeeded": changes}:
        raise AssertionError(f"the burst's changes ended {outcomes}")
    ratio = pipeline / plain
    return [
        timing(
            group,
            f"plain loop: PUT + GET until RUNNING, {concurrency} at a time (all)",
            [plain],
            detail=detail,
            throughput=False,
        ),
        timing(group, "confirm all (plan + submit, web side)", [confirmed], throughput=False),
        timing(
            group,
            "all final through the worker (confirm → last final)",
            [pipeline],
            throughput=False,
            detail=detail,
        ),
        timing(group, "per change, created → final", totals, throughput=False),
        Result(
            group=group,
            name="pipeline / plain loop (wall time)",
            unit="ratio",
            median=ratio,
            figure=f"{ratio:.2f}",
            target="<= 1.2",
            passed=ratio <= 1.2,
            detail=detail,
        ),
        Result(
            group=group,
            name="CPU s: simulator, worker, database, bench (plain → pipeline)",
            unit="cpu",
            figure=" → ".join(
                ", ".join(
                    f"{used.get(k, 0.0):g}" for k in ("simulator", "worker", "database", "bench")
                )
                for used in (plain_cpu, pipeline_cpu)
            ),
            detail=detail,
        ),
        Result(
            group=group,
            name="tasks the worker ran per change: send, poll, follow-ups",
            unit="tasks",
            figure=", ".join(
                f"{tasks.get(name, 0) / changes:.2f}"
                for name in (
                    "dataflow.change_send",
                    "dataflow.change_track",
                    "dataflow.change_finished",
                )
            ),
            detail=detail,
        ),
        Result(
            group=group,
            name="SQL queries per change: confirm, send, poll",
            unit="queries",
            median=float(sum(counted.values())),
            figure=f"{counted['confirm']}, {counted['send']}, {counted['track']}",
            detail=detail,
        ),
    ]
