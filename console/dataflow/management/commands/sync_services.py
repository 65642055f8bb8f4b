"""manage.py sync_services: import or refresh every service the SCP connections can list."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from console.dataflow.connections.clients import connection_names, scp_client_for
from console.dataflow.inventory.sync import (
    SYNC_TIME_LIMIT_SECONDS,
    SyncAlreadyRunning,
    services_sync,
    sync_pacing_lines,
)
from console.dataflow.models import SyncRun
from console.scp import ScpUnavailable


class Command(BaseCommand):
    help = "Import or refresh every Data Flow service of every configured SCP connection."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="wait up to this long for SCP to answer (e.g. a simulator still starting)",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="exit 0 even when a connection fails"
        )

    def handle(self, *args, wait: float = 0, quiet: bool = False, **options) -> None:
        if wait:
            self._wait_for_scp(wait)
        run = self._sync_after_any_running()
        self.stdout.write(
            _(
                "Synced %(services)d service(s) from %(connections)d connection(s); "
                "%(changed)d new or changed."
            )
            % {
                "services": run.services_seen,
                "connections": len(connection_names()),
                "changed": run.services_changed,
            }
        )
        for line in sync_pacing_lines(run):
            self.stdout.write(line)
        for error in run.errors:
            self.stderr.write(f"  {error}")
        if run.errors and not quiet:
            raise CommandError(_("Some connections could not be synced (see above)."))

    def _sync_after_any_running(self) -> SyncRun:
        """Run a sync; while a worker's runs, say so and wait for it to end first."""
        said = False
        deadline = time.monotonic() + SYNC_TIME_LIMIT_SECONDS + 120
        while True:
            try:
                return services_sync()
            except SyncAlreadyRunning:
                if time.monotonic() > deadline:
                    raise CommandError(
                        _("Another refresh from SCP is running (a worker's); try again later.")
                    ) from None
                if not said:
                    self.stdout.write(
                        _("Another refresh from SCP is running (a worker's): waiting for it.")
                    )
                    said = True
                time.sleep(2)

    def _wait_for_scp(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for name in connection_names():
            client = scp_client_for(name)
            while True:
                try:
                    client.list_services()
                    break
                except ScpUnavailable:
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.5)
                except Exception:
                    break  # a permanent error: the sync itself reports it
