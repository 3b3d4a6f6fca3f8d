"""What follows a recorded Stars payment, whoever recorded it — the
``successful_payment`` handler, or the reconciler crediting a charge whose
update was lost: the receipt (sent once per payment, whichever gets there
first) and the request the seller made before topping up, started by itself."""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from .. import jobs
from ..context import Context
from ..jobs import TooManyJobsInFlight
from ..limits.kie_balance import TierClosed
from ..models import Payment, PaymentStatus, PendingRequest, Subscription, User
from ..money import credits, invoices, payments, pending, referrals, subscriptions
from ..money.credits import InsufficientCredits
from ..texts import text
from .flow import JOB_IDS, start_generation, tier_closed_text
from .metrics import BotMetrics

__all__ = ["answer_payment"]

logger = logging.getLogger(__name__)


async def answer_payment(payment: Payment, context: Context, bot: Bot, seller: User, metrics: BotMetrics) -> None:
    """The receipt, and the pending request started — once per payment."""
    if not await asyncio.to_thread(payments.claim_receipt, payment.id):
        return  # this payment was answered already (a duplicate update, another instance, the reconciler)
    lang, support = seller.language, context.settings.telegram.support_contact
    if payment.status == PaymentStatus.UNMATCHED:
        renewal = invoices.is_subscription(payment.invoice_payload)
        if renewal and await asyncio.to_thread(subscriptions.renews_cancelled_plan, payment) \
                and await _refund_renewal(bot, payment):
            metrics.subscriptions.labels("renewal_refunded").inc()
            await bot.send_message(seller.id, text(lang, "subscription.renewal_refunded", stars=payment.stars))
            return
        key = "subscription.renewal_refused" if renewal else "pay.unmatched"
        await bot.send_message(seller.id, text(lang, key, stars=payment.stars, charge_id=payment.telegram_charge_id,
                                               support=support))
        return
    request = await asyncio.to_thread(pending.take, seller.id)
    balance = await asyncio.to_thread(credits.balance_of, seller.id)
    lines = [await asyncio.to_thread(_receipt, payment, lang, balance)]
    if request is not None:
        lines.append(text(lang, "pay.receipt.continue", info=request.product_info or text(lang, "no_info")))
    await bot.send_message(seller.id, "\n".join(lines))
    await _thank_inviter(bot, payment, metrics)
    if request is not None:
        await _continue(request, context, bot, seller, metrics, payment.telegram_charge_id)


async def _refund_renewal(bot: Bot, payment: Payment) -> bool:
    """A month Telegram charged for a plan the seller had cancelled with us (the renewal
    raced the cancel) credited nothing: its Stars go back by themselves, once (the
    payment's refund claim).  False when they could not: an operator looks at it."""
    holder = f"cancelled-renewal:{uuid.uuid4().hex}"
    if not await asyncio.to_thread(payments.claim_refund, payment.id, holder):
        return False
    try:
        await bot.refund_star_payment(user_id=payment.user_id, telegram_payment_charge_id=payment.telegram_charge_id)
    except TelegramAPIError as exc:  # not a charge Telegram knows (a forged renewal), or no answer
        if payments.ALREADY_REFUNDED not in getattr(exc, "message", ""):
            logger.warning("renewal %s for a cancelled plan not refunded: %s", payment.telegram_charge_id,
                           type(exc).__name__)
            return False
    finally:
        await asyncio.to_thread(payments.release_refund, payment.id, holder)
    await asyncio.to_thread(payments.mark_refunded, payment.telegram_charge_id)
    logger.info("renewal %s for a cancelled plan: ⭐%s refunded to %s", payment.telegram_charge_id, payment.stars,
                payment.user_id)
    return True


def _receipt(payment: Payment, lang: str, balance: int) -> str:
    """What the seller's payment bought: a pack, or a month of their plan."""
    if payment.subscription_id is None:
        return text(lang, "pay.receipt", stars=payment.stars, credits=payment.credits, balance=balance)
    subscription = Subscription.get_by_id(payment.subscription_id)
    key = "subscription.receipt.first" if subscription.first_charge_id == payment.telegram_charge_id \
        else "subscription.receipt.renewal"
    lines = [text(lang, key, stars=payment.stars, credits=payment.credits, balance=balance,
                  renews=f"{subscription.period_end:%Y-%m-%d}")]
    expired = subscriptions.expired_with(payment.telegram_charge_id)
    if expired:
        lines.append(text(lang, "subscription.receipt.expired", credits=expired))
    return "\n".join(lines)


async def _thank_inviter(bot: Bot, payment: Payment, metrics: BotMetrics) -> None:
    """The inviter told of the bonus this payment earned them, if it did."""
    bonus = await asyncio.to_thread(referrals.bonus_of, payment.telegram_charge_id)
    if bonus is None:
        return
    metrics.credits.labels("referral").inc(bonus.amount)
    inviter = await asyncio.to_thread(User.get_by_id, bonus.user_id)
    try:
        await bot.send_message(inviter.id, text(inviter.language, "referral.bonus", credits=bonus.amount,
                                                balance=inviter.balance))
    except TelegramAPIError as exc:  # blocked the bot, or gone: the bonus is theirs all the same
        logger.info("inviter %s not told of their bonus: %s", inviter.id, exc)


async def _continue(request: PendingRequest, context: Context, bot: Bot, seller: User, metrics: BotMetrics,
                    charge_id: str) -> None:
    """Start the request the seller made before topping up."""
    lang = seller.language
    parent = await asyncio.to_thread(jobs.get_job, request.parent_id) if request.parent_id else None
    info = request.product_info or text(lang, "no_info")
    try:
        await start_generation(context, bot, seller, request.chat_id, request.product_info,
                               photo_file_id=request.photo_file_id, stored_photo=request.photo_path, parent=parent,
                               more_photos=pending.more_photos_of(request),
                               style=None if parent is not None else request.style, brief=request.brief,
                               job_id=uuid.uuid5(JOB_IDS, f"topup:{charge_id}"), on_debit=metrics.debited)
    except TooManyJobsInFlight as exc:
        reason = text(lang, "too_many_jobs", in_flight=exc.in_flight)
        await bot.send_message(request.chat_id, text(lang, "pay.continue_failed", info=info, reason=reason))
    except TierClosed as closed:
        await bot.send_message(request.chat_id, text(lang, "pay.continue_failed", info=info,
                                                     reason=tier_closed_text(lang, closed)))
    except InsufficientCredits:  # spent in the meantime by another request
        reason = text(lang, "no_credits", balance=0, price=context.settings.credits.price)
        await bot.send_message(request.chat_id, text(lang, "pay.continue_failed", info=info, reason=reason))
