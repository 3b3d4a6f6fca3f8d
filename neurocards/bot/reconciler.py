"""The bot's periodic check of our payments against Telegram's (see
:mod:`neurocards.reconcile`): each disagreement is logged and counted in
``neurocards_payment_mismatches{kind}``, which an alert watches."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot

from ..reconcile import MISMATCH_KINDS, reconcile
from .background import running
from .metrics import BotMetrics

__all__ = ["reconciling"]

logger = logging.getLogger("neurocards.bot.reconcile")


async def _loop(bot: Bot, metrics: BotMetrics, period_s: float) -> None:
    while True:
        try:
            mismatches = await reconcile(bot)
        except Exception:  # Telegram or the database away: the next round tries again
            logger.warning("payments reconciliation failed; trying again in %s s", period_s, exc_info=True)
        else:
            for kind in MISMATCH_KINDS:
                metrics.payment_mismatches.labels(kind).set(sum(1 for m in mismatches if m.kind == kind))
            for mismatch in mismatches:
                logger.error("payment mismatch %s: charge=%s user=%s stars=%s", mismatch.kind, mismatch.charge_id,
                             mismatch.user_id, mismatch.stars)
        await asyncio.sleep(period_s)


def reconciling(bot: Bot, metrics: BotMetrics, period_s: float):
    """Reconcile every ``period_s`` while the block runs."""
    return running(_loop(bot, metrics, period_s))
