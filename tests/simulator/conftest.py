"""Fixtures of the simulator's own tests: a signed caller bound to the running simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simulator.helpers import Api
from tests.simulator_fixture import SimulatorHandle


@pytest.fixture
def api(scp_simulator: SimulatorHandle) -> Iterator[Api]:
    """Signed calls to `scp_simulator` with its demo keys."""
    caller = Api(
        scp_simulator.url,
        access_key=scp_simulator.access_key,
        secret_key=scp_simulator.secret_key,
    )
    yield caller
    caller.session.close()
