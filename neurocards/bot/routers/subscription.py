"""/subscription: the monthly plan sold as a Telegram Stars subscription
(issue 22; :mod:`neurocards.money.subscriptions`).

No plan: its terms and a "Subscribe" button — an invoice link made with
``createInvoiceLink`` and ``subscription_period``, its payload signed as a
month of the plan.  A plan running: the credits it brings, the next renewal
and "Cancel" (``editUserStarSubscription``: the month paid runs to its end,
nothing more is charged); a cancelled one: until when, and "Resume".  The
months themselves are recorded by ``routers.buy``'s payment handler.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, LabeledPrice, Message
from aiogram.utils.callback_answer import CallbackAnswer

from ...context import Context
from ...keyboards import SubscriptionAction, subscribe_keyboard, subscription_keyboard
from ...models import Subscription, SubscriptionStatus, User
from ...money import invoices, subscriptions
from ...settings import Settings
from ...texts import text
from ..metrics import BotMetrics

router = Router(name="subscription")
logger = logging.getLogger("neurocards.bot.subscription")


@router.message(Command("subscription"))
async def show_plan(message: Message, context: Context, bot: Bot, seller: User, lang: str,
                    settings: Settings) -> None:
    plan = settings.credits.subscription
    running = await asyncio.to_thread(subscriptions.current, seller.id)
    if running is not None:
        await message.answer(_plan_text(lang, running),
                             reply_markup=subscription_keyboard(lang, running.id,
                                                                running.status == SubscriptionStatus.ACTIVE))
        return
    if not plan.credits:
        await message.answer(text(lang, "subscription.off"))
        return
    payload = invoices.issue(context.invoice_key, user_id=seller.id, credits=plan.credits, stars=plan.stars,
                             subscription=True)
    link = await bot.create_invoice_link(
        title=text(lang, "subscription.invoice.title", credits=plan.credits),
        description=text(lang, "subscription.invoice.description", credits=plan.credits,
                         price=settings.credits.price),
        payload=payload, currency=invoices.CURRENCY, provider_token="",
        prices=[LabeledPrice(label=text(lang, "subscription.invoice.label", credits=plan.credits), amount=plan.stars)],
        subscription_period=invoices.SUBSCRIPTION_PERIOD_S,
    )
    terms = "subscription.offer.rollover" if plan.rollover else "subscription.offer.expire"
    await message.answer("\n\n".join([text(lang, "subscription.offer", credits=plan.credits, stars=plan.stars),
                                      text(lang, terms)]),
                         reply_markup=subscribe_keyboard(lang, link, plan.stars))


def _plan_text(lang: str, subscription: Subscription) -> str:
    until = f"{subscription.period_end:%Y-%m-%d}"
    if subscription.status == SubscriptionStatus.CANCELLED:
        return text(lang, "subscription.cancelled", credits=subscription.credits, until=until)
    return text(lang, "subscription.active", credits=subscription.credits, stars=subscription.stars, renews=until)


@router.callback_query(SubscriptionAction.filter())
async def change_plan(query: CallbackQuery, callback_data: SubscriptionAction, bot: Bot, seller: User, lang: str,
                      metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    subscription = await asyncio.to_thread(Subscription.get_or_none, Subscription.id == callback_data.subscription_id)
    if subscription is None or subscription.user_id != seller.id:  # forged, or someone else's
        logger.warning("subscription button for %s not theirs: user=%s", callback_data.subscription_id, seller.id)
        callback_answer.text, callback_answer.show_alert = text(lang, "subscription.not_yours"), True
        return
    wanted = SubscriptionStatus.ACTIVE if callback_data.cancel else SubscriptionStatus.CANCELLED
    if subscription.status != wanted:  # an old message: the plan has moved on
        callback_answer.text, callback_answer.show_alert = text(lang, "subscription.stale"), True
        await _refresh(query, lang, subscription)
        return
    try:
        await bot.edit_user_star_subscription(user_id=seller.id,
                                              telegram_payment_charge_id=subscription.first_charge_id,
                                              is_canceled=callback_data.cancel)
    except TelegramBadRequest as exc:
        logger.warning("editUserStarSubscription refused for subscription %s: %s", subscription.id, exc.message)
        callback_answer.text, callback_answer.show_alert = text(lang, "subscription.change_failed"), True
        return
    change = subscriptions.cancel if callback_data.cancel else subscriptions.resume
    await asyncio.to_thread(change, subscription.id, seller.id)
    metrics.subscriptions.labels("cancelled" if callback_data.cancel else "resumed").inc()
    await _refresh(query, lang, await asyncio.to_thread(Subscription.get_by_id, subscription.id))


async def _refresh(query: CallbackQuery, lang: str, subscription: Subscription) -> None:
    if subscription.status == SubscriptionStatus.ENDED:
        await query.message.edit_text(text(lang, "subscription.ended"))
        return
    await query.message.edit_text(_plan_text(lang, subscription), reply_markup=subscription_keyboard(
        lang, subscription.id, subscription.status == SubscriptionStatus.ACTIVE))
