"""The Data Flow app: services, changes, their pages and their Celery tasks."""
