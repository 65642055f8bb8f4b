"""manage.py check_scp: endpoint, keys, API version and round trip of each SCP connection."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from console.dataflow.connections.clients import connection_names
from console.dataflow.connections.scpcheck import connection_check, connections_check
from console.dataflow.models import DEFAULT_CONNECTION, ScpConnection


class Command(BaseCommand):
    help = (
        "Check each SCP connection: does the endpoint answer, do the keys sign, what SCP's "
        "version list says of the configured API version (its status and last supported day), "
        "and the round trip. WARNING when the version is DEPRECATED or its last supported day "
        "is 90 days away or less; exit status 1 when any connection fails, the last supported "
        "day having passed included."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--connection", metavar="NAME", help="check only this connection")

    def handle(self, *args, connection: str | None = None, **options) -> None:
        if connection is not None:
            verdicts = [connection_check(name=self._known(connection))]
        else:
            verdicts = connections_check()
            if not verdicts:
                raise CommandError(
                    _(
                        "No SCP connection is configured: set SCP_ACCESS_KEY and "
                        "SCP_SECRET_KEY, or add a connection in the Django admin."
                    )
                )
        for verdict in verdicts:
            self.stdout.write(verdict.line)
        if not all(verdict.ok for verdict in verdicts):
            sys.exit(1)

    def _known(self, name: str) -> str:
        """The name when such a connection exists; CommandError naming the known ones if not."""
        if name == DEFAULT_CONNECTION:
            return name
        row = ScpConnection.objects.filter(name=name).values_list("enabled", flat=True).first()
        if row is None:
            known = ", ".join(connection_names() or [DEFAULT_CONNECTION])
            raise CommandError(
                _("No SCP connection named '%(name)s'; known: %(known)s.")
                % {"name": name, "known": known}
            )
        if not row:
            raise CommandError(
                _("The SCP connection '%(name)s' is disabled; enable it first.") % {"name": name}
            )
        return name
