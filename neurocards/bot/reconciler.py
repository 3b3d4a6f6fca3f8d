"""The bot's periodic check of our payments against Telegram's (see
:mod:`neurocards.money.reconcile`): each disagreement is logged and counted in
``neurocards_payment_mismatches{kind}``, which an alert watches.

A charge Telegram lists under an invoice payload we signed, with no record of
ours, is a payment whose update met a database outage and was lost (Telegram
delivers it once): it is credited here, through the same exactly-once path as
the update (keyed by the charge id), counted as ``recovered`` in
``neurocards_payments_total`` and marked on the payment (``recovered_at``), and
the seller gets the receipt.  A month of the subscription plan (Telegram lists
its period with the charge) is credited as a month, its plan made or moved on,
as the update would have.  A charge younger than ``credits.recover_after_s``
is left to its update, which may still be on its way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from aiogram import Bot

from ..context import Context
from ..models import User
from ..money import invoices, payments, subscriptions
from ..money.reconcile import MISMATCH_KINDS, Mismatch, reconcile
from .background import running
from .metrics import BotMetrics
from .receipts import answer_payment

__all__ = ["reconciling", "recover"]

logger = logging.getLogger("neurocards.bot.reconcile")

async def _loop(context: Context, bot: Bot, metrics: BotMetrics, period_s: float) -> None:
    while True:
        try:
            mismatches = await reconcile(bot)
            recovered = await recover(context, bot, metrics, mismatches)
        except Exception:  # Telegram or the database away: the next round tries again
            logger.warning("payments reconciliation failed; trying again in %s s", period_s, exc_info=True)
        else:
            left = [mismatch for mismatch in mismatches if mismatch.charge_id not in recovered]
            for kind in MISMATCH_KINDS:
                metrics.payment_mismatches.labels(kind).set(sum(1 for m in left if m.kind == kind))
            for mismatch in left:
                logger.error("payment mismatch %s: charge=%s user=%s stars=%s", mismatch.kind, mismatch.charge_id,
                             mismatch.user_id, mismatch.stars)
        await asyncio.sleep(period_s)


async def recover(context: Context, bot: Bot, metrics: BotMetrics, mismatches: list[Mismatch],
                  now: float | None = None) -> set[str]:
    """Credit every charge Telegram took for an invoice of ours that we never
    recorded; the charge ids now recorded."""
    now = time.time() if now is None else now
    recorded_ids = set()
    for mismatch in mismatches:
        invoice = _signed_invoice(context, mismatch, now)
        if invoice is None:
            continue
        seller = await asyncio.to_thread(User.get_or_none, User.id == mismatch.user_id)
        if seller is None:
            continue
        month = await asyncio.to_thread(_month_of, mismatch)
        recorded = await asyncio.to_thread(
            payments.record_payment, user_id=seller.id, charge_id=mismatch.charge_id, provider_charge_id="",
            payload=mismatch.payload, currency=invoices.CURRENCY, stars=mismatch.stars, invoice=invoice,
            recovered=True, referral=context.settings.credits.referral, month=month,
            rollover=context.settings.credits.subscription.rollover,
        )
        recorded_ids.add(mismatch.charge_id)
        if recorded.created:
            logger.warning("payment recovered: charge=%s user=%s stars=%s, credited %s (its update was never "
                           "recorded)", mismatch.charge_id, seller.id, mismatch.stars, invoice.credits)
            metrics.payments.labels("recovered").inc()
            metrics.stars.inc(mismatch.stars)
        await answer_payment(recorded.payment, context, bot, seller, metrics)
    return recorded_ids


def _month_of(mismatch: Mismatch) -> subscriptions.Month | None:
    """A lost month of the subscription plan, as Telegram lists it (None: a pack)."""
    if not mismatch.subscription_period:
        return None
    charged_at = dt.datetime.fromtimestamp(mismatch.date, dt.UTC).replace(tzinfo=None)
    return subscriptions.lost_month(mismatch.user_id, mismatch.payload, charged_at, mismatch.subscription_period)


def _signed_invoice(context: Context, mismatch: Mismatch, now: float) -> invoices.Invoice | None:
    """The invoice behind a charge we have no record of, when it is ours to credit."""
    if mismatch.kind != "charge_not_credited" or not mismatch.payload or mismatch.user_id is None:
        return None
    if now - mismatch.date < context.settings.credits.recover_after_s:
        return None
    try:
        return invoices.check(context.invoice_key, mismatch.payload, payer_id=mismatch.user_id,
                              currency=invoices.CURRENCY, total_amount=mismatch.stars,
                              recurring=bool(mismatch.subscription_period))
    except invoices.InvoiceRefused:  # not an invoice of ours: an operator looks at it
        return None


def reconciling(context: Context, bot: Bot, metrics: BotMetrics, period_s: float):
    """Reconcile every ``period_s`` while the block runs."""
    return running(_loop(context, bot, metrics, period_s))
