"""The serverless broker of `make run`: kombu's filesystem transport, with atomic writes.

kombu writes a message straight into its final file, so a worker polling the folder can take
the file while it is still being written and lose the message to a JSON error. Here a message
is written under a name no reader looks for, then renamed into place in one step.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    """A filesystem channel whose messages appear whole or not at all."""

    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`: write a hidden part file, then rename it into place."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        part = final + ".part"  # not "<queue>.msg": readers skip it
        try:
            with open(part, "wb", buffering=0) as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(part, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the atomic channel."""

    Channel = Channel
