"""Page renders through Django's test client as a signed-in admin, and their SQL query counts.

Query counts are taken at two sizes (20 services / 100 changes, then 200 services / 1000
changes): a count that grows with the rows is an N+1 query.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from console.dataflow.changes.configdiff import config_diff
from console.dataflow.models import ChangeEvent, ChangeRequest, ConfigRevision, Service
from console.dataflow.people.roles import ADMINS, role_groups_ensure
from tests.bench.bench_configdiff import sample_config, sample_edit
from tests.bench.bench_stats import Result, repeat, timing

GROUP = "Pages"
SMALL_SERVICES = 20
LARGE_SERVICES = 200
CHANGES_PER_SERVICE = 5  # 100 changes at 20 services, 1000 at 200
Status = ChangeRequest.Status

# Mostly successes, as in a healthy installation, with every other ending represented.
_ENDINGS = [Status.SUCCEEDED] * 7 + [Status.FAILED, Status.DIFFERENT, Status.CANCELLED]

PAGES = {
    "list": "service list",
    "service": "service page",
    "change": "change page",
    "history": "history page (50 rows)",
    "csv": "history CSV export",
}
# Render time targets at 200 services / 1000 changes; the CSV is a download, not a page view.
TARGETS_S = {
    "list": 150e-3,
    "service": 50e-3,
    "change": 50e-3,
    "history": 100e-3,
    "csv": 500e-3,
}


def data_wipe() -> None:
    """Remove every service and change (a throwaway database: nothing else lives there), and
    forget the connections' request budgets: a group after the paced one would otherwise go at
    the rate that group's 417s taught (a 10,000-service sync: 18 minutes instead of 2)."""
    from console.dataflow.connections.budget import budget_store

    ChangeEvent.objects.all().delete()
    ChangeRequest.objects.all().delete()
    ConfigRevision.objects.all().delete()
    Service.objects.all().delete()
    budget_store().clear()


def bench_admin():
    """The admin (group Admins) the benchmarks sign in and submit changes as; made once."""
    role_groups_ensure()
    user, created = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"first_name": "Bench"}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=ADMINS))
    return user


def _scp_answer(service: Service) -> dict[str, Any]:
    """The kind of 202 body a change keeps (secrets masked)."""
    return {
        "account": {"account_id": "nifiadmin", "account_password": "***"},
        "data_flow_service_id": service.scp_id,
        "data_flow_service_name": service.name,
        "state": "UPDATING",
        "cluster_name": service.cluster_name,
        "namespace_name": f"dfs-{service.name}",
        "web_url_nifi": service.web_url_nifi,
        "web_url_registry": service.web_url_registry,
        "http_port": "8080",
        "https_port": "8443",
        "service_workload": "",
    }


def data_seed(*, first: int, count: int, author) -> None:
    """Services `first`..`first + count - 1`, each with CHANGES_PER_SERVICE final changes."""
    now = timezone.now()
    services = []
    for index in range(first, first + count):
        name = f"svc-{index:03d}"
        services.append(
            Service(
                scp_id=uuid.uuid4().hex,
                name=name,
                data_flow_id=uuid.uuid4().hex,
                data_flow_name="dataflow-prod",
                cluster_name="k8s-prod-01",
                namespace_name=f"dfs-{name}",
                state="RUNNING" if index % 17 else "ERROR",
                version="1.27.1",
                web_url_nifi=f"https://{name}.dataflow.test/nifi/",
                web_url_registry=f"https://{name}.dataflow.test/nifi-registry/",
                config=sample_config(aliases=index % 21, seed=index),
                config_revision=CHANGES_PER_SERVICE + 1,
                synced_at=now,
            )
        )
    Service.objects.bulk_create(services)
    services = list(Service.objects.filter(name__in=[s.name for s in services]).order_by("name"))

    changes = []
    for service in services:
        index = int(service.name.removeprefix("svc-"))
        base = service.config
        desired = sample_edit(base)
        diff = config_diff(base, desired)
        for k in range(CHANGES_PER_SERVICE):
            # Interleaved over time across services, newest first in the history.
            created = now - timedelta(minutes=k * LARGE_SERVICES + index)
            status = _ENDINGS[(index + k) % len(_ENDINGS)]
            sent = status != Status.CANCELLED
            error = None
            if status == Status.FAILED:
                error = {
                    "code": "ValidationError",
                    "status": 400,
                    "message": "SCP refused the update: the version is not offered.",
                    "details": ["service_workload.nifi.version: 9.9.9 is not offered"],
                    "global_request_id": f"req-{uuid.uuid4().hex}",
                }
            changes.append(
                ChangeRequest(
                    service=service,
                    author=author,
                    author_name=author.get_username(),
                    reason=f"Benchmark change {k} of {service.name}: more memory for NiFi.",
                    ticket=f"OPS-{1000 + index * 10 + k}" if k % 2 else "",
                    base_revision=k + 1,
                    base_config=base,
                    desired_config=desired,
                    diff=diff,
                    status=status,
                    attempts=1 if sent else 0,
                    polls=3 if status in (Status.SUCCEEDED, Status.DIFFERENT) else 0,
                    scp_answer=_scp_answer(service) if sent and not error else None,
                    error=error,
                    differences=diff[:1] if status == Status.DIFFERENT else [],
                    web_url_nifi=service.web_url_nifi,
                    web_url_registry=service.web_url_registry,
                    created_at=created,
                    submitted_at=created + timedelta(seconds=0.2) if sent else None,
                    accepted_at=created + timedelta(seconds=0.6) if sent and not error else None,
                    finished_at=created + timedelta(seconds=45),
                )
            )
    ChangeRequest.objects.bulk_create(changes, batch_size=500)

    events = []
    for change in ChangeRequest.objects.filter(service__in=services).only(
        "pk", "status", "created_at"
    ):
        steps = [(Status.QUEUED, "Queued by bench-admin.")]
        if change.status != Status.CANCELLED:
            steps.append((Status.SUBMITTING, "Attempt 1: sending the signed update to SCP."))
        if change.status in (Status.SUCCEEDED, Status.DIFFERENT):
            steps.append((Status.ACCEPTED, "SCP accepted the update (202); state UPDATING."))
        steps.append((change.status, f"Final: {change.get_status_display()}."))
        events += [
            ChangeEvent(
                change_id=change.pk,
                at=change.created_at + timedelta(seconds=i),
                status=status,
                message=message,
            )
            for i, (status, message) in enumerate(steps)
        ]
    ChangeEvent.objects.bulk_create(events, batch_size=1000)


def _fetch(client: Client, url: str) -> bytes:
    """The whole body of a 200 answer (a streamed one is consumed, as a browser would)."""
    response = client.get(url)
    if response.status_code != 200:
        raise AssertionError(f"GET {url} answered {response.status_code}")
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _query_count(client: Client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        _fetch(client, url)
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def _urls() -> dict[str, str]:
    """The pages measured, on the first service and its newest succeeded change."""
    service = Service.objects.order_by("name").first()
    assert service is not None
    change = service.changes.filter(status=Status.SUCCEEDED).first()
    assert change is not None
    return {
        "list": reverse("dataflow:service-list"),
        "service": reverse("dataflow:service-detail", args=[service.pk]),
        "change": reverse("dataflow:change-detail", args=[change.pk]),
        "history": reverse("dataflow:history"),
        "csv": reverse("dataflow:history") + "?format=csv",
    }


def _measure(client: Client, urls: dict[str, str], *, runs: int) -> dict[str, Any]:
    """Per page: render samples (seconds) and the SQL it ran once."""
    measured = {}
    for key, url in urls.items():
        # Counted on a second view: the first of a session also stores the person's time zone
        # and language in it (five statements, once a session, whatever the page's size).
        _fetch(client, url)
        count, sql = _query_count(client, url)
        samples = repeat(
            lambda url=url: _fetch(client, url), runs=max(5, runs // 3) if key == "csv" else runs
        )
        measured[key] = {"url": url, "samples": samples, "queries": count, "sql": sql}
    return measured


def bench_pages(*, runs: int = 25) -> list[Result]:
    """Every page at 20 services / 100 changes, then at 200 / 1000: times and query counts."""
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    data_wipe()
    admin = bench_admin()
    client = Client()
    client.force_login(admin)

    data_seed(first=0, count=SMALL_SERVICES, author=admin)
    small = _measure(client, _urls(), runs=max(5, runs // 2))
    data_seed(first=SMALL_SERVICES, count=LARGE_SERVICES - SMALL_SERVICES, author=admin)
    large = _measure(client, _urls(), runs=runs)

    total_changes = ChangeRequest.objects.count()
    csv_lines = _fetch(client, large["csv"]["url"]).decode("utf-8").count("\n")
    if csv_lines != total_changes + 1:
        raise AssertionError(f"the CSV has {csv_lines} lines for {total_changes} changes")

    sizes = {
        "small": (SMALL_SERVICES, SMALL_SERVICES * CHANGES_PER_SERVICE),
        "large": (LARGE_SERVICES, total_changes),
    }
    results = []
    for key, label in PAGES.items():
        for size, measured in (("small", small), ("large", large)):
            services, changes = sizes[size]
            results.append(
                timing(
                    GROUP,
                    f"{label}, {services} svc / {changes} changes",
                    measured[key]["samples"],
                    # The target is for the large size; the small one shows how time grows.
                    target_s=TARGETS_S[key] if size == "large" else None,
                    detail={"url": measured[key]["url"], "services": services, "changes": changes},
                )
            )
    for key, label in PAGES.items():
        count_small, count_large = small[key]["queries"], large[key]["queries"]
        results.append(
            Result(
                group="SQL queries per page",
                name=label,
                unit="queries",
                median=float(count_large),
                figure=f"{count_small} at {SMALL_SERVICES} svc, {count_large} at {LARGE_SERVICES}",
                target="same count at both sizes",
                passed=count_small == count_large,
                detail={
                    size: {
                        "services": sizes[size][0],
                        "changes": sizes[size][1],
                        "queries": m[key]["queries"],
                    }
                    for size, m in (("small", small), ("large", large))
                }
                | {"sql_large": large[key]["sql"]},
            )
        )
    return results
