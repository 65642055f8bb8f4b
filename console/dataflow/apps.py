"""The dataflow app; at start-up it registers what follows a change's end."""

from django.apps import AppConfig


class DataflowConfig(AppConfig):
    name = "console.dataflow"
    label = "dataflow"
    verbose_name = "Data Flow"

    def ready(self) -> None:
        # Make the console's Celery app the current one, so .delay() in the web process uses
        # the configured broker.
        import console.celery  # noqa: F401
        from console.dataflow.changes.finished import followup_register
        from console.dataflow.fleet.waves import fleet_followup
        from console.dataflow.notifications.notify import notifications_enqueue

        # What runs when a change ends, in this order; the lifecycle knows only the list.
        followup_register(
            "notifications", lambda change_id: notifications_enqueue(change_id=change_id)
        )
        followup_register("fleet", fleet_followup)
