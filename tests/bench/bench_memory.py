"""Resident memory of the console's processes at the size of a real platform team.

gunicorn's workers after a few hundred page views of a 10,000-service platform, and a Celery
worker (`celery -A console worker`, in a process of its own, as Procfile.production's sync
worker: prefork, concurrency 1) through a 10,000-service sync from a simulator process.
Memory is VmRSS from /proc/<pid>/status (Linux); MB are 10^6 bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from tests.bench.bench_stats import Result
from tests.bench.production import (
    PLATFORM_SERVICES,
    ROOT,
    Web,
    gunicorn,
    platform_seed,
    process_group_stop,
    production_env,
    request,
    sign_in,
)

WEB_TARGET_MB = 150
WORKER_TARGET_MB = 250
SYNC_LATENCY_S = float(os.environ.get("BENCH_SCP_LATENCY_MS", "10")) / 1000


# --- /proc ------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """VmRSS of a process in bytes; 0 when it is gone."""
    return _status_kb(pid, "VmRSS") * 1024


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size (shared pages split among their sharers); 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """Every descendant of `pid`, read from /proc/*/stat."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command may hold spaces and parentheses: fields follow the last ")".
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return sorted(found)


def _mb(value: float) -> float:
    return round(value / 1e6, 1)


def _memory(group: str, name: str, mb: float, target_mb: float | None, detail: dict) -> Result:
    return Result(
        group=group,
        name=name,
        unit="MB",
        median=mb,
        figure=f"{mb:.1f}",
        target=f"<= {target_mb:g}" if target_mb is not None else "",
        passed=None if target_mb is None else mb <= target_mb,
        detail=detail,
    )


# --- gunicorn -----------------------------------------------------------------------------


def page_paths() -> list[str]:
    """About 400 views: the list (pages, searches, sorts), services, changes, the history."""
    from console.dataflow.models import ChangeRequest, Service

    paths = []
    service_list = reverse("dataflow:service-list")
    for page in range(1, 41):
        paths.append(f"{service_list}?page={page * 5}")
    for query in ("q=svc-0", "q=svc-01&state=RUNNING", "sort=-last_change", "state=ERROR"):
        paths += [f"{service_list}?{query}&page={page}" for page in range(1, 11)]
    services = Service.objects.order_by("?").values_list("pk", flat=True)[:100]
    paths += [reverse("dataflow:service-detail", args=[pk]) for pk in services]
    changes = ChangeRequest.objects.order_by("?").values_list("pk", flat=True)[:100]
    paths += [reverse("dataflow:change-detail", args=[pk]) for pk in changes]
    history = reverse("dataflow:history")
    paths += [f"{history}?page={page}" for page in range(1, 41)]
    paths += [f"{history}?status=failed&page={page}" for page in range(1, 11)]
    paths += [f"{history}?q=svc-00{n}" for n in range(10)]
    paths += [f"{history}?format=csv"] * 5
    paths += [reverse("admin:dataflow_service_changelist") + f"?p={p}" for p in range(1, 11)]
    return paths


def _views(web: Web, cookie: str, paths: list[str]) -> dict[str, int]:
    """Every path once, in order; raises on an answer other than 200."""
    sizes = {"requests": 0, "bytes": 0}
    for path in paths:
        status, _, body = request(web, "GET", path, cookie=cookie)
        if status != 200:
            raise AssertionError(f"GET {path} answered {status}")
        sizes["requests"] += 1
        sizes["bytes"] += len(body)
    return sizes


def _workers_settled(web: Web, *, count: int = 3) -> list[int]:
    """gunicorn's workers once all have loaded the application (their RSS stops growing)."""
    deadline = time.monotonic() + 30
    previous: dict[int, int] = {}
    while time.monotonic() < deadline:
        now = {pid: rss_bytes(pid) for pid in children(web.pid)}
        if len(now) == count and now == previous:
            return sorted(now)
        previous = now
        time.sleep(0.5)
    raise AssertionError(f"gunicorn's {count} workers did not settle: {previous}")


def bench_web_memory(*, rounds: int = 2) -> list[Result]:
    """gunicorn (3 workers, as production) after `rounds` passes over ~400 page views."""
    platform_seed()
    group = f"Memory, gunicorn at {PLATFORM_SERVICES:,} services (DEBUG=0)"
    with gunicorn(workers=3) as web:
        workers = _workers_settled(web)
        at_start = {pid: rss_bytes(pid) for pid in workers}
        cookies = sign_in(web)
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        paths = page_paths()
        started = time.perf_counter()
        sizes = {"requests": 0, "bytes": 0}
        for _ in range(rounds):
            done = _views(web, cookie, paths)
            sizes = {k: sizes[k] + done[k] for k in sizes}
        took = time.perf_counter() - started
        after = {pid: rss_bytes(pid) for pid in children(web.pid)}
        master = rss_bytes(web.pid)
    if not after or set(after) != set(workers):
        raise AssertionError(
            f"gunicorn's workers changed during the run: {workers} → {list(after)}"
        )
    largest = max(after.values())
    detail = {
        "workers_rss_mb_after": {str(pid): _mb(rss) for pid, rss in after.items()},
        "workers_rss_mb_at_start": {str(pid): _mb(rss) for pid, rss in at_start.items()},
        "master_rss_mb": _mb(master),
        "requests": sizes["requests"],
        "response_mb": _mb(sizes["bytes"]),
        "seconds": round(took, 1),
        "statistic": "the largest worker's VmRSS after the requests",
    }
    return [
        _memory(
            group,
            f"largest worker after {sizes['requests']} page views (MB)",
            _mb(largest),
            WEB_TARGET_MB,
            detail,
        ),
        _memory(
            group,
            "largest worker at start, before any request (MB)",
            _mb(max(at_start.values())),
            None,
            detail,
        ),
        _memory(group, "master (MB)", _mb(master), None, detail),
    ]


# --- Celery ---------------------------------------------------------------------------------


@contextmanager
def celery_worker(*, queue: str, scp_url: str) -> Iterator[subprocess.Popen]:
    """Procfile.production's sync worker on a queue of its own; stopped and the queue removed."""
    from tests.worker import _queue_delete

    env = production_env(
        SCP_OPENAPI_URL=scp_url,
        CONSOLE_SYNC_QUEUE=queue,
        CONSOLE_CHANGES_QUEUE=queue,
    )
    log = Path(settings.VAR_DIR) / f"worker-{queue}.log"
    out = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "console",
            "-q",
            "worker",
            "--loglevel",
            "INFO",
            "--queues",
            queue,
            "--concurrency",
            "1",
            "--hostname",
            f"{queue}@localhost",
            # Alone on a shared broker: no chatter with other workers.
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield process
    finally:
        process_group_stop(process)
        out.close()
        _queue_delete(queue)


class _Peaks:
    """The worker's processes sampled together: peaks of their RSS sum, PSS sum and each one."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss_sum = self.pss_sum = self.child_rss = self.main_rss = 0
        self.samples = 0

    def sample(self) -> None:
        pool = children(self.pid)
        main = rss_bytes(self.pid)
        kids = [rss_bytes(pid) for pid in pool]
        self.main_rss = max(self.main_rss, main)
        self.child_rss = max([self.child_rss, *kids])
        self.rss_sum = max(self.rss_sum, main + sum(kids))
        self.pss_sum = max(self.pss_sum, sum(pss_bytes(pid) for pid in [self.pid, *pool]))
        self.samples += 1


def _sync_through(process: subprocess.Popen, queue: str, *, timeout: float = 900.0):
    """Send a sync to the worker and sample it every 0.1 s until the run has ended."""
    from celery import current_app
    from django.utils import timezone

    from console.dataflow.inventory.sync import SYNC_TASK
    from console.dataflow.models import SyncRun

    idle = _Peaks(process.pid)
    idle.sample()
    peaks = _Peaks(process.pid)
    run = SyncRun.objects.create(dispatched_at=timezone.now())
    current_app.send_task(SYNC_TASK, args=[run.pk], queue=queue, ignore_result=True)
    started = time.monotonic()
    checked = 0.0
    while time.monotonic() - started < timeout:
        peaks.sample()
        if process.poll() is not None:
            raise RuntimeError("the worker died during the sync")
        if time.monotonic() - checked > 0.5:
            checked = time.monotonic()
            run.refresh_from_db()
            if run.finished_at is not None:
                return run, idle, peaks, time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"the sync had not ended after {timeout:.0f} s")


def bench_worker_memory() -> list[Result]:
    """The peak of a Celery worker's processes through a first import of 10,000 services."""
    from tests.bench.bench_pages import data_wipe
    from tests.bench.bench_scale import simulator_process

    group = f"Memory, Celery worker through a {PLATFORM_SERVICES:,}-service sync"
    queue = f"bench-memory-{uuid.uuid4().hex[:12]}"
    data_wipe()
    with (
        simulator_process(services=PLATFORM_SERVICES, latency=SYNC_LATENCY_S) as url,
        celery_worker(queue=queue, scp_url=url) as process,
    ):
        run, idle, peaks, took = _sync_through(process, queue)
    if run.errors or run.services_seen != PLATFORM_SERVICES:
        raise AssertionError(f"the sync saw {run.services_seen} services: {run.errors}")
    detail = {
        "statistic": "peak of the sum of VmRSS of the worker's main process and its pool "
        "process, sampled every 0.1 s (shared pages counted in each)",
        "peak_rss_sum_mb": _mb(peaks.rss_sum),
        "peak_pss_sum_mb": _mb(peaks.pss_sum),
        "peak_pool_process_rss_mb": _mb(peaks.child_rss),
        "peak_main_process_rss_mb": _mb(peaks.main_rss),
        "idle_rss_sum_mb": _mb(idle.rss_sum),
        "samples": peaks.samples,
        "sync_seconds": round(took, 1),
        "scp_latency_s": SYNC_LATENCY_S,
        "services_changed": run.services_changed,
    }
    return [
        _memory(
            group, "main + pool process, peak (MB)", _mb(peaks.rss_sum), WORKER_TARGET_MB, detail
        ),
        _memory(group, "the pool process alone, peak (MB)", _mb(peaks.child_rss), None, detail),
        _memory(
            group, "main + pool process, idle before the sync (MB)", _mb(idle.rss_sum), None, detail
        ),
        _memory(
            group, "main + pool, peak proportional set size (MB)", _mb(peaks.pss_sum), None, detail
        ),
    ]


def bench_memory() -> list[Result]:
    """The Celery worker through the sync first (it imports the services the pages show)."""
    if not os.path.exists("/proc/self/status"):
        raise RuntimeError("memory is read from /proc/<pid>/status, which only Linux has")
    results: list[Result] = []
    for name, bench in (("Celery worker", bench_worker_memory), ("gunicorn", bench_web_memory)):
        try:
            results += bench()
        except Exception as exc:
            import traceback

            traceback.print_exc(file=sys.stderr)
            results.append(
                Result(
                    group="Memory",
                    name=f"{name} memory",
                    unit="MB",
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
    return results
