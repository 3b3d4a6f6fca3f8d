"""Buying credits with Telegram Stars (DESIGN §11): /buy and the packs, the
invoice, the pre-checkout answer, the payment credited once with its receipt,
the request kept while the seller topped up started by itself, refunds
Telegram reports, and /paysupport and /terms."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery, SuccessfulPayment
from aiogram.utils.callback_answer import CallbackAnswer

from ...context import Context
from ...db import record_effect
from ...keyboards import BuyPack, ShowPacks, packs_keyboard
from ...models import PaymentStatus, User
from ...money import invoices, payments, referrals, subscriptions
from ...money.credits import InsufficientCredits
from ...money.invoices import SUBSCRIPTION_PERIOD_S
from ...settings import Settings
from ...texts import language_of, text
from ..metrics import BotMetrics
from ..receipts import answer_payment

router = Router(name="buy")
logger = logging.getLogger("neurocards.bot.buy")


def packs_text(settings: Settings, lang: str) -> str:
    return text(lang, "buy.title", price=settings.credits.price)


@router.message(Command("buy"))
async def show_packs(message: Message, lang: str, settings: Settings) -> None:
    await message.answer(packs_text(settings, lang),
                         reply_markup=packs_keyboard(lang, settings.credits.packs, settings.credits.price))


@router.callback_query(ShowPacks.filter())
async def show_packs_button(query: CallbackQuery, lang: str, settings: Settings) -> None:
    await query.message.answer(packs_text(settings, lang),
                               reply_markup=packs_keyboard(lang, settings.credits.packs, settings.credits.price))


@router.callback_query(BuyPack.filter())
async def send_invoice(query: CallbackQuery, callback_data: BuyPack, context: Context, bot: Bot, seller: User,
                       lang: str, settings: Settings, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    pack = settings.credits.pack(callback_data.credits, callback_data.stars)
    if pack is None:  # a pack no longer sold, or forged button data
        logger.warning("button for a pack not on sale: user=%s data=%r", seller.id, query.data)
        callback_answer.text, callback_answer.show_alert = text(lang, "pay.refused.unknown_pack"), True
        return
    payload = invoices.issue(context.invoice_key, user_id=seller.id, credits=pack.credits, stars=pack.stars)
    await bot.send_invoice(
        chat_id=query.message.chat.id,
        title=text(lang, "invoice.title", credits=pack.credits),
        description=text(lang, "invoice.description", credits=pack.credits, price=settings.credits.price),
        payload=payload,
        currency=invoices.CURRENCY,
        prices=[LabeledPrice(label=text(lang, "invoice.label", credits=pack.credits), amount=pack.stars)],
        provider_token="",
    )
    metrics.payments.labels("invoice_sent").inc()


def on_sale(settings: Settings, invoice: invoices.Invoice) -> bool:
    """The pack, or the subscription plan, the invoice sells is still sold on those terms."""
    if invoice.subscription:
        plan = settings.credits.subscription
        return bool(plan.credits) and (invoice.credits, invoice.stars) == (plan.credits, plan.stars)
    return settings.credits.pack(invoice.credits, invoice.stars) is not None


@router.pre_checkout_query()
async def check_out(query: PreCheckoutQuery, context: Context, settings: Settings, metrics: BotMetrics) -> None:
    """Answered here, in the update's own handler and without the database:
    Telegram gives us 10 s."""
    started = time.perf_counter()
    try:
        invoices.check(
            context.invoice_key, query.invoice_payload, payer_id=query.from_user.id, currency=query.currency,
            total_amount=query.total_amount, ttl_s=settings.credits.invoice_ttl_s,
            on_sale=lambda invoice: on_sale(settings, invoice),
        )
    except invoices.InvoiceRefused as refused:
        logger.warning("checkout refused (%s): user=%s", refused.reason, query.from_user.id)
        await query.answer(ok=False, error_message=text(language_of(query.from_user.language_code),
                                                        _refusal_key(query.invoice_payload, refused.reason)))
        metrics.payments.labels("checkout_refused").inc()
    else:
        await query.answer(ok=True)
        metrics.payments.labels("checkout_ok").inc()
    metrics.pre_checkout_seconds.observe(time.perf_counter() - started)


def _refusal_key(payload: str, reason: str) -> str:
    """A subscription link that expired or whose plan changed says so in its own words."""
    if invoices.is_subscription(payload) and reason in ("expired", "unknown_pack"):
        return f"subscription.refused.{reason}"
    return f"pay.refused.{reason}"


@router.message(F.successful_payment)
async def take_payment(message: Message, context: Context, bot: Bot, seller: User, settings: Settings,
                       metrics: BotMetrics) -> None:
    """Credit the pack, once per charge.  Telegram delivers this update once and
    has the Stars already: the record waits out a database outage
    (``credits.payment_wait_s``); past that, the reconciler credits the charge
    from Telegram's own list (:mod:`neurocards.bot.reconciler`)."""
    paid = message.successful_payment
    try:
        invoice = invoices.check(context.invoice_key, paid.invoice_payload, payer_id=seller.id,
                                 currency=paid.currency, total_amount=paid.total_amount,
                                 recurring=bool(paid.is_recurring))
    except invoices.InvoiceRefused as refused:
        logger.error("payment %s can't be matched (%s): user=%s stars=%s", paid.telegram_payment_charge_id,
                     refused.reason, seller.id, paid.total_amount)
        invoice = None
    recorded = await asyncio.to_thread(
        record_effect, payments.record_payment, within_s=settings.credits.payment_wait_s, user_id=seller.id,
        charge_id=paid.telegram_payment_charge_id, provider_charge_id=paid.provider_payment_charge_id,
        payload=paid.invoice_payload, currency=paid.currency, stars=paid.total_amount, invoice=invoice,
        referral=settings.credits.referral, month=_month(paid), rollover=settings.credits.subscription.rollover,
    )
    if recorded.created:
        metrics.payments.labels("paid" if recorded.payment.status == PaymentStatus.PAID else "unmatched").inc()
        metrics.stars.inc(paid.total_amount)
        if paid.is_recurring and invoice is not None:
            metrics.subscriptions.labels("renewal_refused" if recorded.payment.subscription_id is None
                                         else "subscribed" if paid.is_first_recurring else "renewed").inc()
    else:
        metrics.payments.labels("duplicate").inc()
    await answer_payment(recorded.payment, context, bot, seller, metrics)


def _month(paid: SuccessfulPayment) -> subscriptions.Month | None:
    """A subscription's month, as the payment tells it (None: a pack)."""
    if not paid.is_recurring:
        return None
    expires = paid.subscription_expiration_date or int(time.time()) + SUBSCRIPTION_PERIOD_S
    return subscriptions.Month(dt.datetime.fromtimestamp(expires, dt.UTC).replace(tzinfo=None),
                               first=bool(paid.is_first_recurring))


@router.message(F.refunded_payment)
async def note_refund(message: Message, seller: User) -> None:
    """Telegram says Stars went back: if we did not start that refund, the credits
    it bought are taken back too (never below zero)."""
    refunded = message.refunded_payment
    await asyncio.to_thread(settle_refund, refunded.telegram_payment_charge_id, seller.id)


def settle_refund(charge_id: str, user_id: int) -> None:
    """Telegram's word that the Stars of ``charge_id`` went back: its credits,
    and the referral bonus it earned an inviter, are taken back."""
    payment = payments.find(charge_id)
    if payment is None or payment.user_id != user_id:
        logger.error("refund reported for an unknown charge %s (user=%s)", charge_id, user_id)
        return
    if payment.status == PaymentStatus.PAID and payment.credits:
        try:
            payments.take_back(payment, reason="refund reported by Telegram")
        except InsufficientCredits as exc:  # marked refunded all the same: the audit shows the gap
            logger.error("refund of %s: seller %s spent the credits (balance %s of %s)", charge_id, user_id,
                         exc.balance, payment.credits)
    payments.mark_refunded(charge_id)
    referrals.take_back_bonus(charge_id)  # (once: keyed by the invited seller)


@router.message(Command("paysupport"))
async def pay_support(message: Message, lang: str, settings: Settings) -> None:
    await message.answer(text(lang, "paysupport", support=settings.telegram.support_contact))


@router.message(Command("terms"))
async def terms(message: Message, lang: str, settings: Settings) -> None:
    await message.answer(text(lang, "terms", price=settings.credits.price, support=settings.telegram.support_contact))
