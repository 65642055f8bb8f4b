"""`manage.py plan_config FILE --as USERNAME`: what applying a configuration file would change.

Nothing is sent; SCP's pre-check runs when workloads change. Exit 1 when the file cannot be
planned (unreadable, another person's rules, a value the edit page would refuse).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from console.dataflow.management.commands import _configfile


class Command(BaseCommand):
    help = "Show what applying a configuration file (from export_config) would change."

    def add_arguments(self, parser) -> None:
        _configfile.add_arguments(parser)

    def handle(self, *args, file, username, reason, ticket, **options) -> None:
        planned = _configfile.plan_file(
            self, file=file, username=username, reason=reason, ticket=ticket
        )
        if planned.plan is not None:
            planned.plan.delete()  # shown, never to be confirmed: apply_config plans afresh
