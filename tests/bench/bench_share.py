"""The console's own share of one change, with the production tracking schedule.

(a) confirm → PUT on the wire: from the call the review page's POST makes to the moment the
simulator logged the PUT. (b) SCP's final answer → the page shows it: from the moment the
simulator's service became RUNNING again (its update's due time, which the service's
`modified_dt` then carries) to the moment the change's page, reloaded as a browser does (htmx,
every second after the last answer), first shows the change final. (b) is also split at the
poll that read RUNNING: the tracking schedule's share, then the worker's and the page's.

Changes are confirmed one at a time (each sent before the next is confirmed) and tracked side
by side, each with its own update time at SCP (1 to 60 s, spread evenly), so that the service
flips at every point of the polling schedule. Every clock here is time.time() on one machine.
The worker is `celery -A console worker` in a process of its own, with the console's default
tracking and dispatch settings (not the shortened ones of the other pipeline benchmarks).
"""

from __future__ import annotations

import math
import re
import threading
import time
from datetime import datetime

from django.conf import settings
from django.test import Client
from django.urls import reverse

import console.settings as defaults
from console.dataflow.models import ChangeRequest, Service
from tests.bench.bench_stats import Result, timing

GROUP = "The console's share of one change"
CHANGES = 20
LONGEST_UPDATE_SECONDS = 60.0
# The change page reloads its live part this long after the last answer (change_live.html).
PAGE_REFRESH_SECONDS = 1.0
FINAL = {"succeeded", "different", "failed", "cancelled"}
_STATUS = re.compile(rb'data-testid="change-live" data-status="(\w+)"')


def update_seconds(number: int) -> float:
    """The update time at SCP of the `number`th change: 1 to 60 s, spread evenly."""
    golden = (math.sqrt(5) - 1) / 2
    return round(1.0 + (LONGEST_UPDATE_SECONDS - 1.0) * ((number * golden) % 1.0), 2)


class PageWatcher(threading.Thread):
    """A browser on the change's page: loaded at once, then its live part every second after
    the last answer, until the page shows the change final. `shown_at`: when it first did."""

    def __init__(self, user, change_id: int, timeout: float) -> None:
        super().__init__(daemon=True)
        self.user = user
        self.url = reverse("dataflow:change-detail", args=[change_id])
        self.deadline = time.monotonic() + timeout
        self.shown_at: float | None = None
        self.loads = 0
        self.answers: list[float] = []  # how long each load took
        self.error = ""

    def run(self) -> None:
        from django.db import connection

        try:
            client = Client()
            client.force_login(self.user)
            headers: dict[str, str] = {}  # the first load is the whole page
            while time.monotonic() < self.deadline:
                asked = time.time()
                response = client.get(self.url, headers=headers)
                seen = time.time()
                self.answers.append(seen - asked)
                self.loads += 1
                found = _STATUS.search(response.content)
                if response.status_code != 200 or not found:
                    raise AssertionError(f"GET {self.url} answered {response.status_code}")
                if found.group(1).decode() in FINAL:
                    self.shown_at = seen
                    return
                headers = {"HX-Request": "true"}
                time.sleep(PAGE_REFRESH_SECONDS)
        except Exception as exc:  # reported by the benchmark, not lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()


def _wait_sent(change_id: int, timeout: float = 60.0) -> None:
    """Until the worker has had SCP's answer to the change's PUT (or the change ended)."""
    deadline = time.monotonic() + timeout
    waiting = (ChangeRequest.Status.QUEUED, ChangeRequest.Status.SUBMITTING)
    while time.monotonic() < deadline:
        status = ChangeRequest.objects.filter(pk=change_id).values_list("status", flat=True)[0]
        if status not in waiting:
            return
        time.sleep(0.005)
    raise AssertionError(f"change #{change_id} not sent after {timeout:g} s")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def bench_share(*, changes: int = CHANGES) -> list[Result]:
    """Confirm → PUT and RUNNING → page shown over `changes` changes, production polling."""
    from console.dataflow.inventory.sync import services_sync
    from tests.bench.bench_burst import WORKER_CONCURRENCY, _client, scp_settings, worker_process
    from tests.bench.bench_pages import bench_admin, data_wipe
    from tests.bench.bench_pipeline import _submit
    from tests.bench.bench_scale import _control, simulator_process

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    production = {
        "SCP_TRACK_FIRST_POLL_SECONDS": defaults.SCP_TRACK_FIRST_POLL_SECONDS,
        "SCP_TRACK_MAX_POLL_SECONDS": defaults.SCP_TRACK_MAX_POLL_SECONDS,
        "CONSOLE_DISPATCH_SECONDS": defaults.CONSOLE_DISPATCH_SECONDS,
    }
    with simulator_process(services=changes + 5, latency=0.0) as url:
        scp_settings(url)
        data_wipe()
        assert not services_sync().errors
        services = list(Service.objects.order_by("name")[:changes])
        author = bench_admin()
        _control(url, "DELETE", "/_simulator/requests")
        confirmed_at: dict[int, float] = {}
        returned_at: dict[int, float] = {}
        watchers: dict[int, PageWatcher] = {}
        timeout = LONGEST_UPDATE_SECONDS + 3 * production["SCP_TRACK_MAX_POLL_SECONDS"]
        env = {key: str(value) for key, value in production.items()}
        with worker_process("bench-share", url, concurrency=WORKER_CONCURRENCY, **env):
            # Unmeasured, at once: every pool process has its connections and imports, as in
            # a worker that has been up for a while.
            spare = Service.objects.order_by("name")[changes : changes + WORKER_CONCURRENCY]
            warm = [_submit(service, author, 0).pk for service in spare]
            for change_id in warm:
                _wait_sent(change_id)
            for number, service in enumerate(services, 1):
                _control(
                    url,
                    "POST",
                    "/_simulator/faults",
                    {"service_id": service.scp_id, "update_delay": update_seconds(number)},
                )
                started = time.time()
                change = _submit(service, author, number)
                confirmed_at[service.pk] = started
                returned_at[service.pk] = time.time()
                watchers[service.pk] = PageWatcher(author, change.pk, timeout)
                watchers[service.pk].start()  # the review page redirects to the change's
                _wait_sent(change.pk)
            for watcher in watchers.values():
                watcher.join()
        log = _control(url, "GET", "/_simulator/requests")["requests"]
        client = _client(url)
        flipped = {s.pk: client.get_service(s.scp_id).modified_dt.timestamp() for s in services}
        client.close()
    errors = [w.error for w in watchers.values() if w.error]
    unseen = [pk for pk, w in watchers.items() if w.shown_at is None]
    if errors or unseen:
        raise AssertionError(f"pages: {errors[:3]}; {len(unseen)} never showed a final state")
    marks = {"confirmed": confirmed_at, "returned": returned_at, "flipped": flipped}
    return _share_results(services, log, marks, watchers, production)


def _share_results(services, log, marks, watchers, production) -> list[Result]:
    to_put, to_page, to_poll, to_final, final_to_page = [], [], [], [], []
    confirm, queued, claimed = [], [], []
    rows = ChangeRequest.objects.filter(service__in=services, attempts=1)
    claims = dict(rows.values_list("service_id", "submitted_at"))
    finals = dict(rows.values_list("service_id", "finished_at"))
    confirmed_at, flipped = marks["confirmed"], marks["flipped"]
    for service in services:
        path = f"/v1/data-flow-services/{service.scp_id}"
        calls = [(entry["method"], _epoch(entry["time"])) for entry in log if entry["path"] == path]
        put = min(at for method, at in calls if method == "PUT")
        flip = flipped[service.pk]
        # The poll that read RUNNING: the first GET logged once the service had flipped.
        read = min(at for method, at in calls if method == "GET" and at >= flip)
        shown = watchers[service.pk].shown_at
        to_put.append(put - confirmed_at[service.pk])
        confirm.append(marks["returned"][service.pk] - confirmed_at[service.pk])
        queued.append(claims[service.pk].timestamp() - marks["returned"][service.pk])
        claimed.append(put - claims[service.pk].timestamp())
        to_page.append(shown - flip)
        to_poll.append(read - flip)
        to_final.append(finals[service.pk].timestamp() - read)
        final_to_page.append(shown - finals[service.pk].timestamp())
    loads = sum(w.loads for w in watchers.values())
    answers = sorted(a for w in watchers.values() for a in w.answers)
    detail = {
        **production,
        "changes": len(services),
        "update_seconds": [update_seconds(n) for n in range(1, len(services) + 1)],
        "page_refresh_seconds": PAGE_REFRESH_SECONDS,
        "page_loads": loads,
        "page_answer_median_s": answers[len(answers) // 2],
        "broker": settings.CELERY_BROKER_URL.split("://")[0],
        "clock": "time.time() on one machine; the simulator logs to the millisecond",
    }
    first = production["SCP_TRACK_FIRST_POLL_SECONDS"]
    ceiling = production["SCP_TRACK_MAX_POLL_SECONDS"]
    return [
        timing(
            GROUP,
            "confirm → PUT received by SCP",
            to_put,
            target_s=0.15,
            throughput=False,
            detail=detail,
        ),
        timing(GROUP, "  of which: the confirm (web side)", confirm, throughput=False),
        timing(GROUP, "  of which: queued → a worker claims it", queued, throughput=False),
        timing(
            GROUP, "  of which: claim → PUT (read SCP, record, send)", claimed, throughput=False
        ),
        timing(
            GROUP,
            f"SCP RUNNING again → page shows it (polls {first:g} s growing to {ceiling:g} s)",
            to_page,
            target_s=1.0,
            throughput=False,
            detail=detail,
        ),
        timing(
            GROUP,
            "  of which: RUNNING again → the poll that reads it",
            to_poll,
            throughput=False,
            detail=detail,
        ),
        timing(GROUP, "  of which: that poll → final in the database", to_final, throughput=False),
        timing(
            GROUP,
            f"  of which: final → page shows it (page every {PAGE_REFRESH_SECONDS:g} s)",
            final_to_page,
            throughput=False,
            detail=detail,
        ),
    ]
