"""The Dramatiq broker: Redis, with the dead-worker sweep tuned so that the
messages a killed worker held come back in about a minute, not "eventually"."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

__all__ = ["build_broker", "HEARTBEAT_TIMEOUT_MS", "MAINTENANCE_CHANCE"]

#: How long a worker may go without a heartbeat before its unacked messages are
#: given to others (Dramatiq's default is 60 s, ours is half that).
HEARTBEAT_TIMEOUT_MS = 30_000

#: Out of a million broker commands, how many also sweep dead workers' messages.
#: Dramatiq's default (1,000) can leave a quiet queue unswept for a long time.
MAINTENANCE_CHANCE = 50_000


def build_broker(redis_url: str, *, middleware=None) -> RedisBroker:
    """A Redis broker for ``redis_url``, installed as the global broker."""
    broker = RedisBroker(
        url=redis_url,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        middleware=middleware,
    )
    dramatiq.set_broker(broker)
    return broker
