"""A coroutine the bot runs beside its polling or webhook for as long as a block lasts."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["running"]


@contextlib.asynccontextmanager
async def running(coroutine):
    """Run ``coroutine`` as a task while the block runs; cancel it on the way out."""
    task = asyncio.create_task(coroutine)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
