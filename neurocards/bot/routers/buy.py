"""Buying credits with Telegram Stars (DESIGN §11): /buy and the packs, the
invoice, the pre-checkout answer, the payment credited once with its receipt,
the request kept while the seller topped up started by itself, refunds
Telegram reports, and /paysupport and /terms."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery
from aiogram.utils.callback_answer import CallbackAnswer

from ... import credits, invoices, jobs, payments, pending
from ...context import Context
from ...credits import InsufficientCredits
from ...jobs import TooManyJobsInFlight
from ...keyboards import BuyPack, ShowPacks, packs_keyboard
from ...models import PaymentStatus, PendingRequest, User
from ...settings import Settings
from ...texts import language_of, text
from ..flow import start_generation
from ..metrics import BotMetrics
from .generate import JOB_IDS

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


@router.pre_checkout_query()
async def check_out(query: PreCheckoutQuery, context: Context, settings: Settings, metrics: BotMetrics) -> None:
    """Answered here, in the update's own handler and without the database:
    Telegram gives us 10 s."""
    started = time.perf_counter()
    try:
        invoices.check(
            context.invoice_key, query.invoice_payload, payer_id=query.from_user.id, currency=query.currency,
            total_amount=query.total_amount, ttl_s=settings.credits.invoice_ttl_s,
            on_sale=lambda credits_, stars: settings.credits.pack(credits_, stars) is not None,
        )
    except invoices.InvoiceRefused as refused:
        logger.warning("checkout refused (%s): user=%s", refused.reason, query.from_user.id)
        await query.answer(ok=False, error_message=text(language_of(query.from_user.language_code),
                                                        f"pay.refused.{refused.reason}"))
        metrics.payments.labels("checkout_refused").inc()
    else:
        await query.answer(ok=True)
        metrics.payments.labels("checkout_ok").inc()
    metrics.pre_checkout_seconds.observe(time.perf_counter() - started)


@router.message(F.successful_payment)
async def take_payment(message: Message, context: Context, bot: Bot, seller: User, lang: str, settings: Settings,
                       metrics: BotMetrics) -> None:
    paid = message.successful_payment
    try:
        invoice = invoices.check(context.invoice_key, paid.invoice_payload, payer_id=seller.id,
                                 currency=paid.currency, total_amount=paid.total_amount)
    except invoices.InvoiceRefused as refused:
        logger.error("payment %s can't be matched (%s): user=%s stars=%s", paid.telegram_payment_charge_id,
                     refused.reason, seller.id, paid.total_amount)
        invoice = None
    recorded = await asyncio.to_thread(
        payments.record_payment, user_id=seller.id, charge_id=paid.telegram_payment_charge_id,
        provider_charge_id=paid.provider_payment_charge_id, payload=paid.invoice_payload, currency=paid.currency,
        stars=paid.total_amount, invoice=invoice,
    )
    payment = recorded.payment
    if recorded.created:
        metrics.payments.labels("paid" if invoice is not None else "unmatched").inc()
        metrics.stars.inc(paid.total_amount)
    else:
        metrics.payments.labels("duplicate").inc()
    if not await asyncio.to_thread(payments.claim_receipt, payment.id):
        return  # this payment was answered already (a duplicate update, or another instance)
    if payment.status == PaymentStatus.UNMATCHED:
        await message.answer(text(lang, "pay.unmatched", stars=payment.stars, charge_id=payment.telegram_charge_id,
                                  support=settings.telegram.support_contact))
        return
    request = await asyncio.to_thread(pending.take, seller.id)
    balance = await asyncio.to_thread(credits.balance_of, seller.id)
    lines = [text(lang, "pay.receipt", stars=payment.stars, credits=payment.credits, balance=balance)]
    if request is not None:
        lines.append(text(lang, "pay.receipt.continue", info=request.product_info or text(lang, "no_info")))
    await message.answer("\n".join(lines))
    if request is not None:
        await _continue(request, context, bot, seller, lang, metrics, payment.telegram_charge_id)


async def _continue(request: PendingRequest, context: Context, bot: Bot, seller: User, lang: str,
                    metrics: BotMetrics, charge_id: str) -> None:
    """Start the request the seller made before topping up."""
    parent = await asyncio.to_thread(jobs.get_job, request.parent_id) if request.parent_id else None
    info = request.product_info or text(lang, "no_info")
    try:
        await start_generation(context, bot, seller, request.chat_id, request.product_info,
                               photo_file_id=request.photo_file_id, stored_photo=request.photo_path, parent=parent,
                               job_id=uuid.uuid5(JOB_IDS, f"topup:{charge_id}"), on_debit=metrics.debited)
    except TooManyJobsInFlight as exc:
        reason = text(lang, "too_many_jobs", in_flight=exc.in_flight)
        await bot.send_message(request.chat_id, text(lang, "pay.continue_failed", info=info, reason=reason))
    except InsufficientCredits:  # spent in the meantime by another request
        reason = text(lang, "no_credits", balance=0, price=context.settings.credits.price)
        await bot.send_message(request.chat_id, text(lang, "pay.continue_failed", info=info, reason=reason))


@router.message(F.refunded_payment)
async def note_refund(message: Message, seller: User) -> None:
    """Telegram says Stars went back: if we did not start that refund, the credits
    it bought are taken back too (never below zero)."""
    refunded = message.refunded_payment
    await asyncio.to_thread(settle_refund, refunded.telegram_payment_charge_id, seller.id)


def settle_refund(charge_id: str, user_id: int) -> None:
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


@router.message(Command("paysupport"))
async def pay_support(message: Message, lang: str, settings: Settings) -> None:
    await message.answer(text(lang, "paysupport", support=settings.telegram.support_contact))


@router.message(Command("terms"))
async def terms(message: Message, lang: str, settings: Settings) -> None:
    await message.answer(text(lang, "terms", price=settings.credits.price, support=settings.telegram.support_contact))
