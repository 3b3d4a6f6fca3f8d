"""The I/O worker's module for bench/finish.py: the pipeline's actors, as
``neurocards worker`` serves them, and one probe on the same ``pipeline``
queue that writes down how late it ran — what a status edit (sent to run at
once) or a poll (sent with a delay) waits for a worker thread and the CPU.

Each probe's lateness goes to the Redis list ``bench:lag:<kind>``, in seconds.
"""

from __future__ import annotations

import os
import time

import dramatiq
import redis

import actors  # noqa: F401  the broker with the pipeline's middleware, and every pipeline actor
from neurocards.dispatch import PIPELINE_QUEUE

_redis = redis.Redis.from_url(os.environ["NEUROCARDS_REDIS__URL"])


@dramatiq.actor(queue_name=PIPELINE_QUEUE, max_retries=0)
def queue_probe(kind: str, due: float) -> None:
    """Run when ``due`` (epoch seconds) had come: note how much later it is."""
    _redis.rpush(f"bench:lag:{kind}", time.time() - due)
