"""Demo data for development: one user per role with a mail address, and a watched service.

Created with random passwords. The demo admin watches sales-etl, so that a change of it ends
with a mail the worker prints (no EMAIL_URL under `make run`): watches and mail are visible.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from console.dataflow.inventory.sync import SyncAlreadyRunning, services_sync
from console.dataflow.models import DEFAULT_CONNECTION, Service, Watch
from console.dataflow.people.roles import ADMINS, SUPPORT, TEAM_LEADS, role_groups_ensure
from console.simulator.seed import SALES_ETL_ID
from console.simulator.server import DEMO_ACCESS_KEY, start_in_thread, state_path_in

logger = logging.getLogger(__name__)

# username: (group, first name, last name, mail address)
DEMO_USERS = {
    "admin": (ADMINS, "Ada", "Admin", "ada@example.com"),
    "lead": (TEAM_LEADS, "Lee", "Lead", "lee@example.com"),
    "support": (SUPPORT, "Sam", "Support", "sam@example.com"),
}
# The demo admin watches this simulator service (sales-etl) of the default connection.
DEMO_WATCHER = "admin"
DEMO_WATCHED_ID = SALES_ETL_ID
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def demo_users_create(*, reset_passwords: bool = False) -> dict[str, str | None]:
    """Create the missing demo users; the password of each new (or reset) user, else None.

    A demo user without a mail address gets the demo one; an address set since is kept.
    """
    role_groups_ensure()
    user_model = get_user_model()
    passwords: dict[str, str | None] = {}
    for username, (group_name, first, last, email) in DEMO_USERS.items():
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": email}
        )
        user.groups.set([Group.objects.get(name=group_name)])
        if not user.email:
            user.email = email
            user.save(update_fields=["email"])
        if created or reset_passwords:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
            passwords[username] = password
        else:
            passwords[username] = None
    return passwords


def demo_watch_ensure() -> Service | None:
    """Make the demo admin watch the demo service; the service, or None while not imported.

    On a fresh database the services come from the simulator the default connection points at
    (see `demo_services_import`); they are never invented here.
    """
    service = demo_watched_service()
    if service is None and demo_services_import():
        service = demo_watched_service()
    if service is None:
        return None
    watcher = get_user_model().objects.get(username=DEMO_WATCHER)
    Watch.objects.get_or_create(user=watcher, service=service)
    return service


def demo_watched_service() -> Service | None:
    """The demo service the admin watches, once imported."""
    return Service.objects.filter(
        connection_name=DEFAULT_CONNECTION, scp_id=DEMO_WATCHED_ID
    ).first()


def demo_simulator_port() -> int | None:
    """The port of the local simulator the default connection uses with its demo keys, else None.

    Anything else (a real SCP region, other keys) is never called by the demo seeding.
    """
    parts = urlsplit(settings.SCP_OPENAPI_URL)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
        return None
    if settings.SCP_ACCESS_KEY != DEMO_ACCESS_KEY:
        return None
    return parts.port or 80


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Only warnings from these loggers for a while: the seeding's summary stays readable."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


def demo_services_import() -> bool:
    """Import the services of the default connection's local simulator; whether it worked.

    `make run` seeds before its simulator starts, so the simulator is started here for the
    length of one refresh, on its port and state file, with the links `make run` gives it.
    When one already listens there (another `make run`), the refresh reads that one.
    """
    port = demo_simulator_port()
    if port is None:
        return False
    with _quiet("console.simulator", "console.scp"):
        return _import_from(port)


def _import_from(port: int) -> bool:
    """One refresh from the simulator on `port`, started here when none listens there."""
    simulator_url = f"http://127.0.0.1:{port}"
    try:
        running = start_in_thread(
            state_path=state_path_in(Path(settings.VAR_DIR)),
            port=port,
            public_url=simulator_url,
            console_url=settings.CONSOLE_PUBLIC_URL,
        )
    except OSError:
        running = None
    try:
        run = services_sync()
    except SyncAlreadyRunning:
        return False
    finally:
        if running is not None:
            running.stop()
    for error in run.errors:
        logger.warning("demo services not imported: %s", error)
    return not run.errors
