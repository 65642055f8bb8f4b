"""Fixtures of the app's tests: a local SCP stand-in serving a version list."""

from __future__ import annotations

from tests.dataflow.local_scp import default_on_local, local_scp, on_list_day

__all__ = ["default_on_local", "local_scp", "on_list_day"]
