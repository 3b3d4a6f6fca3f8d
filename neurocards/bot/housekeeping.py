"""The bot host keeps its storage (the photos it receives) from filling up."""

from __future__ import annotations

import asyncio
import logging

from .background import running

__all__ = ["sweeping"]

logger = logging.getLogger("neurocards.bot.housekeeping")


async def _loop(storage, keep_s: float, period_s: float) -> None:
    while True:
        await asyncio.sleep(period_s)
        try:
            files, freed = await asyncio.to_thread(storage.sweep, keep_s)
        except OSError:
            logger.warning("storage sweep failed", exc_info=True)
            continue
        if files:
            logger.info("storage sweep removed %d files (%d bytes)", files, freed)


def sweeping(storage, keep_s: float, period_s: float):
    """Sweep ``storage`` every ``period_s`` while the block runs."""
    return running(_loop(storage, keep_s, period_s))
