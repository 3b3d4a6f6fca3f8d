"""The bot ends the subscription plans whose month ran out with no renewal
(:func:`neurocards.money.subscriptions.end_lapsed`), on a period: every
instance may sweep, each plan ends once."""

from __future__ import annotations

import asyncio
import logging

from ..money import subscriptions
from .background import running
from .metrics import BotMetrics

__all__ = ["ending_plans"]

logger = logging.getLogger("neurocards.bot.plans")


async def _loop(plan, metrics: BotMetrics) -> None:
    while True:
        try:
            ended = await asyncio.to_thread(subscriptions.end_lapsed, grace_s=plan.end_grace_s,
                                            rollover=plan.rollover)
        except Exception:  # the database away: the next round tries again
            logger.warning("ending lapsed subscriptions failed", exc_info=True)
        else:
            if ended:
                logger.info("%d subscription plans ended (no renewal)", ended)
                metrics.subscriptions.labels("ended").inc(ended)
        await asyncio.sleep(plan.sweep_period_s)


def ending_plans(plan, metrics: BotMetrics):
    """Sweep every ``plan.sweep_period_s`` (``credits.subscription``) while the block runs."""
    return running(_loop(plan, metrics))
