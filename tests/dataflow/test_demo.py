"""`seed_demo`: demo people with mail addresses, the admin's watch, and the mail it brings."""

from __future__ import annotations

import socket
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from console.dataflow.changes.finished import FINISHED_TASK, change_finished
from console.dataflow.changes.lifecycle import change_move
from console.dataflow.models import ChangeRequest, Service, Watch
from console.dataflow.notifications.notify import EMAIL_TASK, notification_email_send
from console.simulator.seed import SALES_ETL_ID
from console.simulator.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.notify_servers import free_port

Status = ChangeRequest.Status


def seed_demo() -> str:
    """Run the command; what it printed."""
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def emails() -> dict[str, str]:
    """Each demo user's mail address."""
    return dict(get_user_model().objects.values_list("username", "email"))


def test_seed_demo_gives_addresses_and_the_admins_watch_once(scp, db):
    first = seed_demo()
    second = seed_demo()

    assert emails() == {
        "admin": "ada@example.com",
        "lead": "lee@example.com",
        "support": "sam@example.com",
    }
    sales = Service.objects.get(scp_id=SALES_ETL_ID)
    assert sales.name == "sales-etl"
    assert Service.objects.count() == 5
    [watch] = Watch.objects.all()
    assert (watch.user.username, watch.service) == ("admin", sales)
    for output in (first, second):
        assert "admin (ada@example.com) watches sales-etl." in output
        assert "appears in the worker's log" in output


def test_seed_demo_keeps_an_address_set_since(scp, db):
    seed_demo()
    get_user_model().objects.filter(username="lead").update(email="lee.real@example.org")

    seed_demo()

    assert emails()["lead"] == "lee.real@example.org"


def test_on_a_fresh_database_the_services_come_from_a_simulator_started_for_the_import(
    settings, db, tmp_path
):
    port = free_port()
    settings.SCP_OPENAPI_URL = f"http://127.0.0.1:{port}"
    settings.SCP_ACCESS_KEY, settings.SCP_SECRET_KEY = DEMO_ACCESS_KEY, DEMO_SECRET_KEY
    settings.VAR_DIR = tmp_path

    output = seed_demo()

    sales = Service.objects.get(scp_id=SALES_ETL_ID)
    assert Watch.objects.filter(user__username="admin", service=sales).exists()
    assert "admin (ada@example.com) watches sales-etl." in output
    # With the links `make run` gives: the simulator's stand-in pages.
    assert sales.web_url_nifi == f"http://127.0.0.1:{port}/ui/{SALES_ETL_ID}/nifi/"
    assert (tmp_path / "simulator" / "state.json").exists()
    with socket.socket() as probe:  # stopped again: `make run`'s own simulator takes the port
        probe.bind(("127.0.0.1", port))


def test_seed_demo_never_calls_an_scp_that_is_not_the_local_simulator(settings, db):
    settings.SCP_OPENAPI_URL = "https://data-flow.kr-west1.e.samsungsdscloud.com"
    settings.SCP_ACCESS_KEY = "REALACCESSKEY"

    output = seed_demo()

    assert emails()["admin"] == "ada@example.com"
    assert not Service.objects.exists() and not Watch.objects.exists()
    assert "admin will watch sales-etl once it is imported" in output


def test_a_change_of_the_watched_service_ending_mails_the_demo_admin(
    scp, db, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    seed_demo()
    sales = Service.objects.get(scp_id=SALES_ETL_ID)
    support = get_user_model().objects.get(username="support")
    change = ChangeRequest.objects.create(
        service=sales,
        kind=ChangeRequest.Kind.HOST_ALIASES,
        author=support,
        author_name="support",
        reason="INC-1: a new ERP address",
        base_revision=sales.config_revision,
        base_config=sales.config,
        desired_config=sales.config,
        status=Status.UPDATING,
        diff=[{"section": "Network", "label": "Host aliases"}],
    )

    def run_now(name, args, **_):
        """The worker's part, at once: the follow-ups of a final change, then each mail."""
        if name == FINISHED_TASK:
            change_finished(change_id=args[0])
        elif name == EMAIL_TASK:
            notification_email_send(change_id=args[0], user_id=args[1])

    monkeypatch.setattr("celery.current_app.send_task", run_now)
    with django_capture_on_commit_callbacks(execute=True):
        assert change_move(change.pk, frm=Status.UPDATING, to=Status.SUCCEEDED, message="done")

    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.com",
        "sam@example.com",
    ]
    assert all("sales-etl" in message.subject for message in mail.outbox)


@pytest.fixture(autouse=True)
def _development(settings):
    """`seed_demo` is for development (DEBUG on); each test starts with no mail."""
    settings.DEBUG = True
    mail.outbox = []
