"""Benchmarks at scale: the sync at 1,000 services against the sequential fetch loop, the
service list at 1,000 / 10,000 services against Django admin's change list (500 changes through
a worker: bench_burst)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console.dataflow.models import ChangeRequest, Service
from console.scp import ScpClient
from console.simulator import seed
from console.simulator.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from console.simulator.state import Store
from tests.bench.bench_pages import data_wipe
from tests.bench.bench_stats import Result, repeat, timing

ROOT = Path(__file__).resolve().parents[2]
SYNC_SERVICES = 1000
LATENCY_S = float(os.environ.get("BENCH_SCP_LATENCY_MS", "10")) / 1000


def _ratio(group: str, name: str, ours: list[float], theirs: list[float], limit: float) -> Result:
    """Our median over theirs, judged against `limit`."""
    ours_m, theirs_m = sorted(ours)[len(ours) // 2], sorted(theirs)[len(theirs) // 2]
    ratio = ours_m / theirs_m
    return Result(
        group=group,
        name=name,
        unit="ratio",
        median=ratio,
        figure=f"{ratio:.2f}",
        target=f"<= {limit:g}",
        passed=ratio <= limit,
        detail={"ours_median_s": ours_m, "theirs_median_s": theirs_m},
    )


# --- The simulator, in a process of its own ------------------------------------------------


def _state_with(path: Path, count: int) -> None:
    """A simulator state file holding the demo services and more, up to `count`."""
    store = Store(path)
    flows = list(store.data_flows.values())
    now = "2026-01-01T00:00:00.000Z"
    for i in range(len(store.services), count):
        flow = flows[i % len(flows)]
        sid = str(uuid.UUID(int=i + 1))
        store.services[sid] = seed.service_record(
            service_id=sid,
            name=f"bench-{i:04d}",
            data_flow_id=flow["data_flow_id"],
            versions=flow["versions"],
            created_dt=now,
        )
    store.save()


@contextmanager
def simulator_process(*, services: int, latency: float, update_delay: float = 0.0):
    """`manage.py scp_simulator --latency` on a free port, with `services` services."""
    folder = Path(settings.VAR_DIR) / f"sim-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    state = folder / "state.json"
    _state_with(state, services)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (folder / "simulator.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "scp_simulator",
            "--port",
            str(port),
            "--state",
            str(state),
            "--latency",
            str(latency),
            "--update-delay",
            str(update_delay),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_LEVEL": "WARNING"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while "SCP simulator at" not in (folder / "simulator.log").read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((folder / "simulator.log").read_text())
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _client(url: str) -> ScpClient:
    return ScpClient(base_url=url, access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)


# --- Sync ------------------------------------------------------------------------------


def bench_sync(*, runs: int = 3) -> list[Result]:
    """services_sync() at 1,000 services against list pages + details fetched one by one."""
    from console.dataflow.inventory.sync import services_sync

    group = f"Sync, {SYNC_SERVICES} services, {LATENCY_S * 1000:g} ms round trip"
    with simulator_process(services=SYNC_SERVICES, latency=LATENCY_S) as url:
        settings.SCP_OPENAPI_URL = url
        settings.SCP_ACCESS_KEY = DEMO_ACCESS_KEY
        settings.SCP_SECRET_KEY = DEMO_SECRET_KEY

        def sequential() -> None:
            client = _client(url)
            try:
                summaries = client.list_services()
                assert len(summaries) == SYNC_SERVICES, len(summaries)
                for summary in summaries:
                    client.get_service(summary.id)
            finally:
                client.close()

        def sync() -> None:
            run = services_sync()
            assert not run.errors and run.services_seen == SYNC_SERVICES, run.errors

        data_wipe()
        first = repeat(sync, runs=1, warmup=0)  # the import: every row is new
        loop = repeat(sequential, runs=runs, warmup=0)
        ours = repeat(sync, runs=runs, warmup=0)
    detail = {"latency_s": LATENCY_S, "concurrency": settings.SCP_SYNC_CONCURRENCY}
    return [
        timing(group, "sequential fetch loop (list pages + details)", loop, detail=detail),
        timing(group, "first import (services_sync, all new)", first, detail=detail),
        timing(group, "services_sync (refresh)", ours, detail=detail),
        _ratio(group, "services_sync / sequential fetch loop", ours, loop, 0.15),
    ]


# --- Sync under SCP's edge limit ----------------------------------------------------------

EDGE_LIMIT_PER_MINUTE = 600


def _control(url: str, method: str, path: str, body: dict | None = None) -> dict:
    import json
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def bench_sync_paced() -> list[Result]:
    """A 1,000-service sync behind an edge of 600 requests a minute, against its floor.

    The floor is the time that limit allows for the requests the sync had to make (each at
    1/600 of a minute). The console starts at twice the limit, so it must find it.
    """
    from console.dataflow.connections.budget import budget_store
    from console.dataflow.inventory.sync import services_sync

    group = f"Sync paced by SCP's edge, {SYNC_SERVICES} services, {EDGE_LIMIT_PER_MINUTE}/min"
    with simulator_process(services=SYNC_SERVICES, latency=LATENCY_S) as url:
        settings.SCP_OPENAPI_URL = url
        settings.SCP_ACCESS_KEY = DEMO_ACCESS_KEY
        settings.SCP_SECRET_KEY = DEMO_SECRET_KEY
        previous = settings.SCP_REQUESTS_PER_MINUTE
        settings.SCP_REQUESTS_PER_MINUTE = 2 * EDGE_LIMIT_PER_MINUTE
        data_wipe()
        budget_store().clear()
        _control(url, "DELETE", "/_simulator/requests")
        _control(url, "POST", "/_simulator/faults", {"edge_limit": EDGE_LIMIT_PER_MINUTE})
        try:
            started = time.perf_counter()
            run = services_sync()
            took = time.perf_counter() - started
        finally:
            settings.SCP_REQUESTS_PER_MINUTE = previous
            _control(url, "DELETE", "/_simulator/faults")
        assert not run.errors and run.services_seen == SYNC_SERVICES, run.errors
        log = _control(url, "GET", "/_simulator/requests")["requests"]
    passed = [entry for entry in log if entry["status"] != 417]
    refused = [entry for entry in log if entry["status"] == 417]
    floor = len(passed) / EDGE_LIMIT_PER_MINUTE * 60
    # When the refusals came: at the start, or again after the rate had settled.
    first = min((entry["time"] for entry in log), default="")
    late = [entry for entry in refused if _seconds_between(first, entry["time"]) > 120]
    ratio = took / floor
    detail = {"requests": len(passed), "refused_417": len(refused), "floor_s": floor}
    return [
        timing(group, "services_sync behind the edge (first import)", [took], detail=detail),
        Result(
            group=group,
            name="paced sync / the floor the limit allows",
            unit="ratio",
            median=ratio,
            figure=f"{ratio:.2f} ({took:.0f} s / {floor:.0f} s)",
            target="<= 1.1",
            passed=ratio <= 1.1,
            detail=detail,
        ),
        Result(
            group=group,
            name="417s drawn (after the first 2 minutes)",
            unit="count",
            median=float(len(refused)),
            figure=f"{len(refused)} ({len(late)})",
            target="a handful, none late",
            passed=len(refused) <= 10 and not late,
            detail=detail,
        ),
    ]


def _seconds_between(first: str, later: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(later) - datetime.fromisoformat(first)).total_seconds()


# --- Pages ------------------------------------------------------------------------------


def _superuser():
    user, _ = get_user_model().objects.get_or_create(
        username="bench-super", defaults={"is_superuser": True, "is_staff": True}
    )
    return user


def _seed_services(count: int) -> None:
    """Services up to `count` in all, light rows (the list never reads the config)."""
    held = Service.objects.count()
    now = timezone.now()
    Service.objects.bulk_create(
        (
            Service(
                scp_id=uuid.uuid4().hex,
                name=f"svc-{i:05d}",
                data_flow_name="dataflow-prod" if i % 2 else "dataflow-dev",
                cluster_name=f"k8s-{i % 7:02d}",
                state="RUNNING" if i % 17 else "ERROR",
                version="1.27.1",
                web_url_nifi=f"https://svc-{i}.dataflow.test/nifi/",
                web_url_registry=f"https://svc-{i}.dataflow.test/nifi-registry/",
                config={"description": f"service {i}"},
                synced_at=now,
            )
            for i in range(held, count)
        ),
        batch_size=1000,
    )


def _seed_changes(count: int, author) -> None:
    """`count` final changes spread over the services, a few fields each."""
    ids = list(Service.objects.values_list("pk", flat=True))
    now = timezone.now()
    diff = [
        {
            "section": "NiFi",
            "field": "nifi.memory",
            "label": "NiFi memory",
            "before": 4,
            "after": 8,
            "before_display": "4 GiB",
            "after_display": "8 GiB",
        },
        {
            "section": "NiFi",
            "field": "nifi.cpu",
            "label": "NiFi CPU",
            "before": 2,
            "after": 4,
            "before_display": "2 cores",
            "after_display": "4 cores",
        },
    ]
    statuses = ["succeeded"] * 7 + ["failed", "different", "cancelled"]
    batch = []
    for i in range(count):
        created = now - timedelta(minutes=i)
        batch.append(
            ChangeRequest(
                service_id=ids[i % len(ids)],
                author=author,
                author_name="bench-super",
                reason=f"Benchmark change {i}: more memory for NiFi.",
                ticket=f"OPS-{i}" if i % 2 else "",
                base_revision=1,
                base_config={},
                desired_config={},
                diff=diff,
                status=statuses[i % len(statuses)],
                created_at=created,
                submitted_at=created + timedelta(seconds=1),
                finished_at=created + timedelta(seconds=45),
            )
        )
        if len(batch) == 5000:
            ChangeRequest.objects.bulk_create(batch)
            batch = []
    ChangeRequest.objects.bulk_create(batch)


def _get(client: Client, url: str) -> bytes:
    response = client.get(url)
    if response.status_code != 200:
        raise AssertionError(f"GET {url} answered {response.status_code}")
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def bench_pages_scale(*, runs: int = 15) -> list[Result]:
    """Service list vs admin at 1,000 and 10,000 services (the history: bench_history)."""
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    data_wipe()
    user = _superuser()
    client = Client()
    client.force_login(user)
    results: list[Result] = []
    ours_url = reverse("dataflow:service-list")
    admin_url = reverse("admin:dataflow_service_changelist")
    for count in (1000, 10_000):
        _seed_services(count)
        if count == 1000:
            _seed_changes(5000, user)  # the list shows each service's last change
        group = f"Pages, {count:,} services"
        ours = repeat(lambda: _get(client, ours_url), runs=runs)
        admin = repeat(lambda: _get(client, admin_url), runs=runs)
        searched = repeat(
            lambda: _get(client, ours_url + "?q=svc-0&state=RUNNING&sort=-last_change"),
            runs=runs,
        )
        results += [
            # The targets: half the admin's time, and a p95 under 50 ms at 10,000.
            timing(
                group, "service list (50 a page)", ours, target_s=50e-3 if count > 1000 else None
            ),
            timing(group, "service list, searched + sorted by last change", searched),
            timing(group, "Django admin change list (100 a page)", admin),
            _ratio(group, "service list / admin change list", ours, admin, 0.5),
        ]

    return results


def _get_streamed(client: Client, url: str) -> int:
    """Read a streamed answer chunk by chunk, as a browser would; bytes read."""
    response = client.get(url)
    return sum(len(chunk) for chunk in response.streaming_content)
