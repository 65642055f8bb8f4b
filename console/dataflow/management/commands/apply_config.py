"""`manage.py apply_config FILE --as USERNAME --reason TEXT --yes`: apply a configuration file.

The file is planned and confirmed as the API does (approval, one change in flight, sent once
by a worker), then followed until the change is final. Exit 0 Succeeded (or nothing to
change), 1 Failed (or refused, cancelled, rejected, not final in time), 2 Applied with
differences.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from console.dataflow.api.plans import plan_confirm
from console.dataflow.changes.submit import ChangeRefused
from console.dataflow.management.commands import _configfile
from console.dataflow.models import ChangeRequest

Status = ChangeRequest.Status
EXIT = {Status.SUCCEEDED: 0, Status.DIFFERENT: 2}


class Command(BaseCommand):
    help = "Apply a configuration file: plan, confirm and follow the change to its end."

    def add_arguments(self, parser) -> None:
        _configfile.add_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="confirm without asking")
        parser.add_argument(
            "--timeout", type=float, default=3600.0, help="seconds to follow the change"
        )

    def handle(self, *args, file, username, reason, ticket, yes, timeout, **options) -> None:
        if not reason.strip():
            raise CommandError("Give a --reason: it is kept with the change.")
        if not yes:
            raise CommandError("Add --yes to confirm (plan_config shows the plan first).")
        planned = _configfile.plan_file(
            self, file=file, username=username, reason=reason, ticket=ticket
        )
        if planned.plan is None:
            return
        try:
            change = plan_confirm(plan=planned.plan, user=planned.plan.user, from_file=True)
        except ChangeRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Change #{change.pk}: {change.get_status_display()}")
        change = self._follow(change, timeout)
        if not change.is_final:  # each status was printed as it came; say why it stops here
            self.stdout.write(
                f"Change #{change.pk} is still {change.get_status_display()} after "
                f"{timeout:.0f} s; it goes on without this command."
            )
        if change.error_text:
            self.stdout.write(change.error_text)
        sys.exit(EXIT.get(change.status, 1))

    def _follow(self, change: ChangeRequest, timeout: float) -> ChangeRequest:
        """Read the change until it is final, or `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        shown = change.status
        while not change.is_final and time.monotonic() < deadline:
            time.sleep(1.0)
            change.refresh_from_db()
            if change.status != shown:
                shown = change.status
                self.stdout.write(f"Change #{change.pk}: {change.get_status_display()}")
        return change
