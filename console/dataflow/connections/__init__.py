"""SCP connections: their clients, checks, allowed endpoints, secrets and request budget."""
