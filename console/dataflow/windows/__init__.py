"""Maintenance windows and freezes: when a change may reach SCP (issue 22)."""
