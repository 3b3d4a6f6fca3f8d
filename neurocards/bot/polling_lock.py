"""One long-polling instance per bot token: a lease in Redis, renewed while polling.

Two instances polling the same token fight over getUpdates (409 Conflict) and
each sees half the updates; the second refuses to start instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

from redis.asyncio import Redis

__all__ = ["PollingLock"]

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
        await self.redis.eval(RELEASE, 1, self.key, self.owner)

    @contextlib.asynccontextmanager
    async def kept(self):
        """Renew the lease in the background for the duration of the block."""
        task = asyncio.create_task(self._renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            await self.redis.eval(RENEW, 1, self.key, self.owner, self.lease_ms)
