"""The simulator's Django app: it exists only to carry the `scp_simulator` command."""

from __future__ import annotations

from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """Only here so that `manage.py scp_simulator` exists; the simulator itself is plain Python."""

    name = "console.simulator"
    label = "simulator"
    verbose_name = "SCP simulator"
