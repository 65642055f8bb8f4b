"""A sync holds a few batches of details at a time, whatever the number of services."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from console.dataflow.inventory.fetching import DetailBatch, Handoff, _fetch_details


class _CountingClient:
    """Answers every detail at once, counting them."""

    def __init__(self) -> None:
        self.reads = 0
        self.lock = threading.Lock()

    def get_service(self, scp_id: str):
        with self.lock:
            self.reads += 1
        return SimpleNamespace(id=scp_id, data_flow_id="")


def test_reading_waits_for_the_writer_instead_of_holding_every_detail():
    client = _CountingClient()
    pool = SimpleNamespace(get=lambda: client)
    summaries = [SimpleNamespace(id=str(i)) for i in range(1000)]
    out = Handoff(maxsize=1)
    with ThreadPoolExecutor(2) as executor:
        fetch = threading.Thread(
            target=_fetch_details,
            args=(pool, executor, summaries, "default", (10, 2), out),
            daemon=True,
        )
        fetch.start()
        time.sleep(0.5)  # nobody writes: the reading stops once the hand-off is full
        held = client.reads
        assert held <= 10 + 10 + 2 * 10 + 1, held  # queued, being handed, asked ahead
        batches = 0
        while fetch.is_alive() or not out.empty():
            item = out.get(timeout=5)
            assert isinstance(item, DetailBatch)
            batches += 1
            if batches == 100:
                break
        fetch.join(timeout=5)
    assert client.reads == 1000 and batches == 100


def test_a_closed_handoff_drops_what_it_is_given_instead_of_waiting():
    out = Handoff(maxsize=1)
    out.put("first")
    done = threading.Event()
    waiting = threading.Thread(target=lambda: (out.put("second"), done.set()), daemon=True)
    waiting.start()
    assert not done.wait(0.5)  # full: the put waits for the writer
    out.close()
    assert done.wait(2)
    out.put("third")  # at once
    assert out.get_nowait() == "first" and out.empty()
