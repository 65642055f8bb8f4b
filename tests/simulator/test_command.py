"""`manage.py scp_simulator` starts a simulator that answers signed calls."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from console.simulator import seed
from console.simulator.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.simulator.helpers import Api

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    """Poll the health endpoint until it answers (or fail with the command's output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"scp_simulator exited with {process.returncode}:\n{output}")
        try:
            if requests.get(f"{url}/_simulator/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    pytest.fail("scp_simulator did not answer in time")


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def command_simulator(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    """The management command running in its own process on a free port."""
    port = free_port()
    state = tmp_path / "state.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DEBUG": "1",
        "CONSOLE_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "scp_simulator",
            "--port",
            str(port),
            "--state",
            str(state),
            "--update-delay",
            "0.2",
            "--start-delay",
            "0.5",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C reaches it as at a terminal, even when this run was started in the background
        # by a shell (which starts background jobs with SIGINT ignored, and children inherit it).
        preexec_fn=_interruptible,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url, process, state
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_command_serves_signed_calls_on_the_given_port(
    command_simulator: tuple[str, subprocess.Popen[str], Path],
) -> None:
    url, _, state = command_simulator
    api = Api(url, access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)

    response = api.get("/v1/data-flow-services")

    assert response.status_code == 200
    assert response.json()["total_count"] == 5
    assert state.exists()


def test_command_prints_its_url_and_stops_cleanly_on_ctrl_c(
    command_simulator: tuple[str, subprocess.Popen[str], Path],
) -> None:
    url, process, _ = command_simulator

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)  # a loaded machine is slow, never stuck

    assert process.returncode == 0
    first_line = output.splitlines()[0]
    assert url in first_line
    assert DEMO_ACCESS_KEY in first_line


def test_command_start_delay_keeps_the_old_state_after_a_202(
    command_simulator: tuple[str, subprocess.Popen[str], Path],
) -> None:
    url, _, _ = command_simulator
    api = Api(url, access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)
    path = f"/v1/data-flow-services/{seed.SALES_ETL_ID}"

    answer = api.put(path, json={"description": "later"})
    right_after = api.get(path).json()["state"]
    time.sleep(0.6)

    assert answer.status_code == 202 and answer.json()["state"] == "RUNNING"
    assert right_after == "RUNNING"
    assert api.get(path).json()["state"] == "UPDATING"


def test_command_refuses_a_negative_start_delay() -> None:
    with pytest.raises(CommandError, match="--start-delay"):
        call_command("scp_simulator", start_delay=-1)
