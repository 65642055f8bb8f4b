from django.apps import AppConfig


class DataflowConfig(AppConfig):
    name = "console.dataflow"
    label = "dataflow"
    verbose_name = "Data Flow"

    def ready(self) -> None:
        # Make the console's Celery app the current one, so .delay() in the web process uses
        # the configured broker.
        import console.celery  # noqa: F401
