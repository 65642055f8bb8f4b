"""kombu's transports as the console runs them: the serverless broker of `make run` (kombu's
filesystem transport, with atomic writes), and Redis that survives its own outages.

kombu writes a message straight into its final file, so a worker polling the folder can take
the file while it is still being written and lose the message to a JSON error. Here a message
is written under a name no reader looks for, then renamed into place in one step.
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)


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


# --- Redis: a broker outage never kills a worker ----------------------------------------------


class RedisQoS(kombu_redis.QoS):
    """kombu's Redis QoS, whose restore at a lost connection cannot crash the worker.

    When Redis goes away, Celery closes the channel and kombu restores the messages the worker
    held unacknowledged; kombu 5.7 builds a new client from a connection it has already
    dropped and raises AttributeError ("'NoneType' object has no attribute 'hostname'"), which
    Celery treats as unrecoverable: the worker exits. The messages stay in Redis's unacked set
    (Redis brings them back after the visibility timeout) and the console's database knows
    what is due anyway, so not restoring them here loses nothing.
    """

    def restore_unacked(self, client=None):
        """Restore as kombu does; with the broker gone, leave them where Redis keeps them."""
        try:
            return super().restore_unacked(client)
        except (AttributeError, OSError, kombu_redis.get_redis_ConnectionError()) as exc:
            logger.warning(
                "broker unreachable: %d unacknowledged message(s) left for Redis to restore "
                "(%s); the database re-sends what is due",
                len(self._delivered),
                type(exc).__name__,
            )
            self._delivered.clear()
            return None

    def ack(self, delivery_tag):
        """Acknowledge as kombu does; on a channel whose connection is gone, leave it to Redis.

        A task that ends after the broker came back acknowledges on the channel of the lost
        connection, which kombu 5.7 can no longer reach (AttributeError again). The message
        stays in Redis's unacked set and comes back after the visibility timeout; the claims
        on the change make that second delivery harmless.
        """
        try:
            return super().ack(delivery_tag)
        except (AttributeError, OSError, kombu_redis.get_redis_ConnectionError()) as exc:
            self._lost(delivery_tag, exc)
            return None

    def reject(self, delivery_tag, requeue=False):
        """Reject as kombu does; on a lost connection, leave the message to Redis (see ack)."""
        try:
            return super().reject(delivery_tag, requeue=requeue)
        except (AttributeError, OSError, kombu_redis.get_redis_ConnectionError()) as exc:
            self._lost(delivery_tag, exc)
            return None

    def _lost(self, delivery_tag, exc: BaseException) -> None:
        logger.warning(
            "broker connection lost: message %s left for Redis to restore (%s)",
            delivery_tag,
            type(exc).__name__,
        )
        self._delivered.pop(delivery_tag, None)


class RedisChannel(kombu_redis.Channel):
    """kombu's Redis channel with the QoS above."""

    QoS = RedisQoS


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport with the channel above (`redis://` and `rediss://`)."""

    Channel = RedisChannel
