"""What SCP holds: the sync of services and the revisions of their configuration."""
