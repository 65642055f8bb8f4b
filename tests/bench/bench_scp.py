"""SCP client benchmarks: signing, and round trips to the simulator over loopback."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from console.scp import ScpClient, sign
from console.simulator.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, RunningSimulator
from tests.bench.bench_stats import Result, repeat, repeat_batched, timing

GROUP = "SCP client"
LIST_SIZE = 50


def simulator_control(url: str, method: str, path: str, body: Any = None) -> Any:
    """Call one of the simulator's control endpoints (no auth, never under /v1)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


def simulator_fill(simulator: RunningSimulator, *, count: int) -> int:
    """Add services through the control endpoint until the simulator holds `count`."""
    held = len(simulator_control(simulator.url, "GET", "/_simulator/services")["services"])
    for i in range(held, count):
        simulator_control(
            simulator.url,
            "POST",
            "/_simulator/services",
            {"data_flow_service_name": f"bench-{i:03d}", "description": "benchmark service"},
        )
    return max(held, count)


def bench_sign() -> list[Result]:
    """`sign()` of a PUT to a service URL, per call."""
    url = (
        "https://data-flow.kr-west1.e.samsungsdscloud.com"
        "/v1/data-flow-services/97ff18b6f6ac2a24966f313464a60728"
    )
    timestamp = 1767225600000

    def call() -> str:
        return sign("PUT", url, timestamp, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)

    samples = repeat_batched(call, batches=200, batch_size=500)
    return [timing(GROUP, "sign() per call", samples, target_s=50e-6, per_sample_ops=500)]


def bench_client(simulator: RunningSimulator) -> list[Result]:
    """get_service and list_services (all pages of 50 services) through one client."""
    held = simulator_fill(simulator, count=LIST_SIZE)
    client = ScpClient(
        base_url=simulator.url, access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY
    )
    try:
        services = client.list_services()
        if len(services) != held:
            raise AssertionError(f"listed {len(services)} services, the simulator holds {held}")
        service_id = services[0].id
        get_samples = repeat(lambda: client.get_service(service_id), runs=200, warmup=5)
        list_samples = repeat(client.list_services, runs=30, warmup=2)
    finally:
        client.close()
    pages = -(-held // 20)  # the client's default page size is 20
    return [
        timing(GROUP, "get_service round trip", get_samples, target_s=10e-3),
        timing(
            GROUP,
            f"list_services, {held} services ({pages} pages)",
            list_samples,
            target_s=100e-3,
            detail={"services": held, "pages": pages},
        ),
    ]
