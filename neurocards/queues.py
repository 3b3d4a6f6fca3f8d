"""How many messages wait in Dramatiq's Redis queues: ready, delayed, dead-lettered.

Dramatiq keeps a queue as a list of message ids (``dramatiq:<queue>``), its
delayed twin as another (``<queue>.DQ``) and its dead letters as a sorted set
(``<queue>.XQ``).
"""

from __future__ import annotations

__all__ = ["QUEUES", "depth_commands", "read_depths"]

#: The queues the pipeline uses.
QUEUES = ("pipeline",)

NAMESPACE = "dramatiq"


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
