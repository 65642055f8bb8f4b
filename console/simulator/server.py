"""Entry points of the simulator: run it in a background thread (tests) or in the foreground."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from console.simulator.app import Simulator
from console.simulator.state import Store
from console.simulator.wire import SimulatorHTTPServer

DEMO_ACCESS_KEY = "DEMOACCESSKEY0001"
DEMO_SECRET_KEY = "DEMOSECRETKEY0001"  # noqa: S105 (a published demo key of the simulator)
# Signs correctly but is refused as SCP refuses an account without Data Flow in the region.
NOT_ENABLED_ACCESS_KEY = "DEMOACCESSKEY0NOTENABLED"
NOT_ENABLED_SECRET_KEY = "DEMOSECRETKEY0NOTENABLED"  # noqa: S105

CREDENTIALS = {DEMO_ACCESS_KEY: DEMO_SECRET_KEY, NOT_ENABLED_ACCESS_KEY: NOT_ENABLED_SECRET_KEY}


def state_path_in(var_dir: Path) -> Path:
    """Where the simulator keeps its state under the project's VAR_DIR, by default."""
    return Path(var_dir) / "simulator" / "state.json"


# Short, so that stop() returns quickly; the loop only polls for shutdown.
_POLL_INTERVAL = 0.05


@dataclass
class RunningSimulator:
    """A simulator serving in a background thread at `url` until `stop()`."""

    url: str
    state_path: Path
    _server: SimulatorHTTPServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving, wake requests held by faults, close the socket and join the thread."""
        self._server.simulator.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def _build(
    *,
    state_path: Path,
    host: str,
    port: int,
    update_delay: float,
    start_delay: float,
    latency: float = 0.0,
    public_url: str = "",
    console_url: str = "",
) -> SimulatorHTTPServer:
    """A bound server over the state in `state_path` (seeded when the file does not exist).

    `latency` seconds are added to every SCP call: the global `latency` fault switch, which
    the control endpoint can change or clear later. `public_url` and `console_url`: see
    `Simulator` (the stand-in pages behind the NiFi links, a demo convenience).
    """
    simulator = Simulator(
        store=Store(Path(state_path)),
        credentials=CREDENTIALS,
        not_enabled=frozenset({NOT_ENABLED_ACCESS_KEY}),
        update_delay=update_delay,
        start_delay=start_delay,
        public_url=public_url,
        console_url=console_url,
    )
    if latency:
        simulator.faults.set({"latency": latency}, service_id=None)
    return SimulatorHTTPServer((host, port), simulator)


def _url(server: SimulatorHTTPServer, host: str) -> str:
    """The base URL clients use, with the port actually bound."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{server.server_address[1]}"


def start_in_thread(
    *,
    state_path: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    update_delay: float = 5.0,
    start_delay: float = 0.0,
    latency: float = 0.0,
    public_url: str = "",
    console_url: str = "",
) -> RunningSimulator:
    """Serve in a daemon thread (port 0 picks a free one) and return once it accepts calls.

    After a 202 the service shows its old state for `start_delay` seconds, then UPDATING for
    `update_delay` seconds.
    """
    server = _build(
        state_path=state_path,
        host=host,
        port=port,
        update_delay=update_delay,
        start_delay=start_delay,
        latency=latency,
        public_url=public_url,
        console_url=console_url,
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _POLL_INTERVAL},
        name="scp-simulator",
        daemon=True,
    )
    thread.start()
    return RunningSimulator(
        url=_url(server, host), state_path=Path(state_path), _server=server, _thread=thread
    )


def serve_forever(
    *,
    state_path: Path,
    host: str = "127.0.0.1",
    port: int = 8001,
    update_delay: float = 5.0,
    start_delay: float = 0.0,
    latency: float = 0.0,
    public_url: str = "",
    console_url: str = "",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted; `on_ready` gets the URL once it listens."""
    server = _build(
        state_path=state_path,
        host=host,
        port=port,
        update_delay=update_delay,
        start_delay=start_delay,
        latency=latency,
        public_url=public_url,
        console_url=console_url,
    )
    try:
        if on_ready is not None:
            on_ready(_url(server, host))
        server.serve_forever(poll_interval=_POLL_INTERVAL)
    finally:
        server.simulator.stopping.set()
        server.server_close()
