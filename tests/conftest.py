"""Shared fixtures: named people, a running SCP simulator, a Celery worker."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from console.dataflow.people.roles import ADMINS, SUPPORT, TEAM_LEADS, role_groups_ensure
from tests.worker import worker_on_own_queue

pytest_plugins = ["tests.simulator_fixture"]

PASSWORD = "correct-horse-battery-staple"


def _person(username: str, group: str | None, **extra):
    role_groups_ensure()  # transactional tests flush the groups the migration made
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, first_name=username.title(), **extra
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def admin_user(db):
    """An admin (group Admins): edits every field of a service."""
    return _person("alice", ADMINS)


@pytest.fixture
def lead_user(db):
    """A team lead (group Team leads): reviews history, changes nothing."""
    return _person("leo", TEAM_LEADS)


@pytest.fixture
def support_user(db):
    """Support staff (group Support): fixes host aliases and nothing else."""
    return _person("sue", SUPPORT)


@pytest.fixture
def outsider(db):
    """Signed in, but in no group."""
    return _person("oscar", None)


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[str]:
    """A real Celery worker (threads) on the configured broker, on a queue of its own."""
    with worker_on_own_queue("test") as queue:
        yield queue


@pytest.fixture
def worker_process(request, scp, transactional_db) -> Iterator:
    """A prefork worker in its own process on a fresh queue, as deployed; this test process
    sends its tasks there too. `@pytest.mark.parametrize("worker_process", [{"env": {...}}],
    indirect=True)` passes extra environment."""
    import uuid

    from console.celery import app
    from tests.worker_process import WorkerProcess, worker_env

    options = getattr(request, "param", {})
    queue = f"proc-{uuid.uuid4().hex[:10]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    process = WorkerProcess(
        queue=queue,
        env=worker_env(
            queue=queue,
            scp_url=scp.url,
            access_key=scp.access_key,
            secret_key=scp.secret_key,
            **options.get("env", {}),
        ),
        concurrency=options.get("concurrency", 2),
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
        app.conf.task_default_queue = previous


@pytest.fixture
def scp(settings, scp_simulator):
    """The default connection pointed at a running simulator, with quick tracking polls."""
    settings.SCP_OPENAPI_URL = scp_simulator.url
    settings.SCP_ACCESS_KEY = scp_simulator.access_key
    settings.SCP_SECRET_KEY = scp_simulator.secret_key
    settings.SCP_TRACK_FIRST_POLL_SECONDS = 0.2
    settings.SCP_TRACK_MAX_POLL_SECONDS = 0.5
    return scp_simulator


@pytest.fixture
def imported(scp, db):
    """The simulator's demo services imported, by name."""
    from console.dataflow.inventory.sync import services_sync
    from console.dataflow.models import Service

    run = services_sync()
    assert not run.errors, run.errors
    return {service.name: service for service in Service.objects.all()}


@pytest.fixture
def enqueued(monkeypatch):
    """Record task dispatches instead of sending them (for tests that call steps directly)."""
    sent: list[tuple[str, int, float | None]] = []

    def _record(task_name, change_id, countdown=None):
        sent.append((task_name, change_id, countdown))
        return True

    # Each step of the change pipeline that hands a change on binds `change_enqueue`.
    for module in ("steps", "submit", "approve", "send", "track"):
        monkeypatch.setattr(f"console.dataflow.changes.{module}.change_enqueue", _record)

    def _send(task_name, *args):  # what the dispatcher hands to the broker
        sent.append((task_name, args[0], None))
        return True

    monkeypatch.setattr("console.dataflow.work.queueing.task_send", _send)
    # Follow-ups of final changes are tested on their own; here they would only pile up.
    monkeypatch.setattr(
        "console.dataflow.changes.lifecycle.change_finished_dispatch", lambda pk: None
    )
    return sent


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """A language a test's request activated in this thread never leaks into the next test."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _scp_budget_forgotten() -> Iterator[None]:
    """Every test starts with fresh SCP request budgets: one test's throttling is its own."""
    yield
    from console.dataflow.connections import budget

    if budget._store is not None:
        with contextlib.suppress(Exception):  # no test database: nothing to forget
            budget._store.clear()
        budget._store.close()  # the test database is dropped at the end: no session may stay


def pytest_report_header(config) -> list[str]:
    """Say which database and broker this run uses (CI runs the suite on two)."""
    from django.conf import settings

    return [
        f"console database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"broker: {settings.CELERY_BROKER_URL.split('://', 1)[0]}"
    ]
