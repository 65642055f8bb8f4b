"""A faithful SCP Data Flow API simulator, served over HTTP in its own process."""
