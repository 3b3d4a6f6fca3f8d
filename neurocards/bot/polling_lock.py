"""One long-polling instance per bot token: a lease in Redis, renewed while polling.

Two instances polling the same token fight over getUpdates (409 Conflict) and
each sees half the updates; the second refuses to start instead.

Redis going away does not stop the polling: renewals that fail are tried again
at the next turn, and when Redis comes back without the lease (restarted empty,
or the lease lapsed meanwhile) it is taken again.  Only if another instance took
it in the meantime does this one stop polling (``on_lost``), leaving it the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .background import running

__all__ = ["PollingLock"]

logger = logging.getLogger("neurocards.bot")

#: The lease outlives a crash by this long; renewed every third of it.
LEASE_S = 30

RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class PollingLock:
    def __init__(self, redis: Redis, bot_id: int, lease_s: int = LEASE_S) -> None:
        self.redis = redis
        self.key = f"neurocards:polling:{bot_id}"
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_ms = lease_s * 1000

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.owner, nx=True, px=self.lease_ms))

    async def release(self) -> None:
        """Give the lease up (on the way out: Redis away is no reason to fail a stop)."""
        try:
            await self.redis.eval(RELEASE, 1, self.key, self.owner)
        except RedisError as exc:
            logger.warning("bot: could not release the polling lease (%s); it lapses by itself", exc)

    @contextlib.asynccontextmanager
    async def kept(self, on_lost: Callable[[], Awaitable[None]] | None = None):
        """Renew the lease in the background for the duration of the block;
        ``on_lost`` is awaited if another instance takes it meanwhile."""
        async with running(self._renew(on_lost)):
            yield

    async def _renew(self, on_lost) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if await self.redis.eval(RENEW, 1, self.key, self.owner, self.lease_ms):
                    continue
                if await self.acquire():
                    logger.warning("bot: Redis had lost the polling lease; taken again")
                    continue
            except RedisError as exc:
                logger.warning("bot: could not renew the polling lease (%s); trying again", exc)
                continue
            logger.error("bot: another instance took the polling lease; this one stops polling")
            if on_lost is not None:
                await on_lost()
            return
