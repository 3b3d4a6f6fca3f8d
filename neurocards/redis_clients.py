"""Redis clients that survive a Redis restart.

A client made by ``Redis.from_url`` retries nothing: after a restart, the first
command on each pooled connection fails ("Connection closed by server") — a
bot's answer lost, a job committed but never enqueued.  These clients use
redis-py's own :class:`~redis.retry.Retry`: a command that meets a closed
connection is sent again on a new one, a few times with a short backoff, so a
restart is not seen at all, and an outage is seen as an error within seconds.
"""

from __future__ import annotations

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

__all__ = ["reconnecting_client", "reconnecting_async_client", "RETRIES"]

#: Tries after the first, ~0.05 s to 1 s apart: a restarting Redis is back by then.
RETRIES = 3
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 1.0


def reconnecting_client(url: str) -> redis.Redis:
    backoff = ExponentialWithJitterBackoff(base=BACKOFF_BASE_S, cap=BACKOFF_CAP_S)
    return redis.Redis.from_url(url, retry=Retry(backoff, RETRIES))


def reconnecting_async_client(url: str) -> redis.asyncio.Redis:
    backoff = ExponentialWithJitterBackoff(base=BACKOFF_BASE_S, cap=BACKOFF_CAP_S)
    return redis.asyncio.Redis.from_url(url, retry=AsyncRetry(backoff, RETRIES))
