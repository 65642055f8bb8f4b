"""`manage.py scp_simulator`: run the SCP Data Flow API simulator in the foreground."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.simulator.server import (
    DEMO_ACCESS_KEY,
    DEMO_SECRET_KEY,
    serve_forever,
    state_path_in,
)
from console.simulator.state import StateError


class Command(BaseCommand):
    """Serve the simulator on its own port until Ctrl-C."""

    help = "Run the SCP Data Flow API simulator (its state survives a restart)."
    # The simulator needs nothing of the project: don't let a half-configured project stop it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """--host, --port, --state, --update-delay, --start-delay, --latency, --public-url,
        --console-url and --reset."""
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
        parser.add_argument("--port", type=int, default=8001, help="port to listen on (8001)")
        parser.add_argument(
            "--state",
            type=Path,
            default=None,
            help="state file (default: <VAR_DIR>/simulator/state.json)",
        )
        parser.add_argument(
            "--update-delay",
            type=float,
            default=5.0,
            help="seconds an accepted update stays UPDATING (5)",
        )
        parser.add_argument(
            "--start-delay",
            type=float,
            default=0.0,
            help="seconds an accepted update still shows the old state before UPDATING (0)",
        )
        parser.add_argument(
            "--latency",
            type=float,
            default=0.0,
            help="seconds added to every SCP call, like a wide-area round trip (0); the "
            "`latency` fault switch changes it while running",
        )
        parser.add_argument(
            "--public-url",
            default="",
            help="where browsers reach this simulator (e.g. http://127.0.0.1:8001): the "
            "services' NiFi and Registry links then lead to stand-in pages it serves, a demo "
            "convenience; by default they take SCP's shape https://<name>.<domain>.dataflow.test/",
        )
        parser.add_argument(
            "--console-url",
            default="",
            help="the console's address, linked from those stand-in pages",
        )
        parser.add_argument(
            "--reset", action="store_true", help="replace the state with the demo services"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the URL and the demo access key, then serve until interrupted."""
        state_path: Path = options["state"] or state_path_in(Path(settings.VAR_DIR))
        if options["update_delay"] < 0:
            raise CommandError("--update-delay must be 0 or more seconds.")
        if options["start_delay"] < 0:
            raise CommandError("--start-delay must be 0 or more seconds.")
        if options["latency"] < 0:
            raise CommandError("--latency must be 0 or more seconds.")
        for option in ("public_url", "console_url"):
            if options[option] and urlsplit(options[option]).scheme not in ("http", "https"):
                name = "--" + option.replace("_", "-")
                raise CommandError(f"{name} must be an http(s) URL; got {options[option]!r}.")
        if options["reset"]:
            state_path.unlink(missing_ok=True)
        if options["verbosity"] >= 2:
            logging.basicConfig(level=logging.INFO, format="%(message)s")

        def ready(url: str) -> None:
            """Announce the URL once the socket listens, so scripts can wait for this line."""
            self.stdout.write(
                f"SCP simulator at {url} (access key {DEMO_ACCESS_KEY}, "
                f"secret key {DEMO_SECRET_KEY}, state {state_path}); Ctrl-C stops it."
            )
            self.stdout.flush()

        try:
            serve_forever(
                state_path=state_path,
                host=options["host"],
                port=options["port"],
                update_delay=options["update_delay"],
                start_delay=options["start_delay"],
                latency=options["latency"],
                public_url=options["public_url"],
                console_url=options["console_url"],
                on_ready=ready,
            )
        except StateError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            where = f"{options['host']}:{options['port']}"
            raise CommandError(f"cannot serve on {where}: {exc}") from exc
        except KeyboardInterrupt:
            self.stdout.write("SCP simulator stopped.")
