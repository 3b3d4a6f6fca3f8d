"""What Dramatiq keeps in Redis, read for operators: how many messages wait in
each queue (ready, delayed, dead-lettered) and how many workers are alive.

Dramatiq keeps a queue as a list of message ids (``dramatiq:<queue>``), its
delayed twin as another (``<queue>.DQ``), its dead letters as a sorted set
(``<queue>.XQ``) and each worker's last heartbeat in ``dramatiq:__heartbeats__``.
"""

from __future__ import annotations

import time

__all__ = ["QUEUES", "depth_commands", "read_depths", "read_depths_async", "live_workers"]

#: The queues the pipeline uses.
QUEUES = ("pipeline", "media")

NAMESPACE = "dramatiq"
HEARTBEATS = f"{NAMESPACE}:__heartbeats__"


def live_workers(redis, within_s: float) -> int:
    """Worker processes that sent a heartbeat in the last ``within_s`` seconds."""
    return int(redis.zcount(HEARTBEATS, (time.time() - within_s) * 1000, "+inf"))


def depth_commands(queue: str) -> list[tuple[str, str, str]]:
    """(state, redis command, key) for each count of ``queue``."""
    return [
        ("ready", "LLEN", f"{NAMESPACE}:{queue}"),
        ("delayed", "LLEN", f"{NAMESPACE}:{queue}.DQ"),
        ("dead", "ZCARD", f"{NAMESPACE}:{queue}.XQ"),
    ]


def read_depths(redis, queues=QUEUES) -> dict[tuple[str, str], int]:
    """``{(queue, state): count}`` from a synchronous Redis client, in one round trip."""
    plan = [(queue, state, command, key) for queue in queues for state, command, key in depth_commands(queue)]
    pipe = redis.pipeline(transaction=False)
    for _, _, command, key in plan:
        pipe.execute_command(command, key)
    return {(queue, state): int(count) for (queue, state, _, _), count in zip(plan, pipe.execute())}


async def read_depths_async(redis, queues=QUEUES) -> dict[tuple[str, str], int]:
    """The same, from an asyncio Redis client."""
    plan = [(queue, state, command, key) for queue in queues for state, command, key in depth_commands(queue)]
    async with redis.pipeline(transaction=False) as pipe:
        for _, _, command, key in plan:
            pipe.execute_command(command, key)
        counts = await pipe.execute()
    return {(queue, state): int(count) for (queue, state, _, _), count in zip(plan, counts)}
