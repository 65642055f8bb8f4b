"""The serverless broker writes each message whole: a reader never sees half a file."""

from __future__ import annotations

from pathlib import Path

from kombu import Connection


def _connection(folder: Path) -> Connection:
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder / "done"),
        "control_folder": str(folder / "control"),
    }
    (folder / "done").mkdir()
    return Connection("filesystem://", transport_options=options)


def test_the_filesystem_broker_is_the_atomic_one(tmp_path):
    with _connection(tmp_path) as conn:
        assert type(conn.transport).__module__ == "console.broker"


def test_a_message_being_written_is_left_alone_and_a_whole_one_is_read(tmp_path):
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("q")
        # What a writer leaves while it writes: readers must skip it, not choke on it.
        (tmp_path / "1_half.q.msg.part").write_text('{"body": "half')
        queue.put({"change": 1})

        message = queue.get(timeout=2)

        assert message.payload == {"change": 1}
        message.ack()
        assert (tmp_path / "1_half.q.msg.part").exists()
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".msg")]
        queue.close()
