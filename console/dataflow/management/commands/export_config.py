"""`manage.py export_config SERVICE`: a service's configuration as YAML (never a password)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from console.dataflow.api.configfile import config_export
from console.dataflow.models import Service


class Command(BaseCommand):
    help = "Print a service's configuration as YAML; SERVICE is its name, SCP id or console id."

    def add_arguments(self, parser) -> None:
        parser.add_argument("service")

    def handle(self, *args, service: str, **options) -> None:
        named = Q(name=service) | Q(scp_id=service)
        if service.isdigit():
            named |= Q(pk=int(service))
        found = list(Service.objects.filter(named)[:2])
        if len(found) != 1:
            raise CommandError(
                f"{'No' if not found else 'More than one'} service named {service!r}; "
                "give its SCP id."
            )
        self.stdout.write(config_export(found[0]), ending="")
