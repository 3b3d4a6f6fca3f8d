"""The user's side of a Stars payment, acted out through the control API: the user pays an
invoice message; the bot gets a pre_checkout_query and has ``pre_checkout_timeout_s`` (10 s at
Telegram) to answer it; only an ok answer makes a charge and a successful_payment message.

The control call that pays stays open until the bot answers or the time is up; the wait is
asynchronous, so the stand-in keeps serving the bot's calls (its answer among them) meanwhile.

Fault ``duplicate_payment`` (``POST /_sandbox/scenario``, matchable by ``chat_id``): the
successful_payment message reaches the bot twice, as two updates with the same message, as when
one payment is handled twice (two bot instances, a crash before the update was confirmed).  The
charge and the transaction are still one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .telegram_payments import deliver_payment_message
from .telegram_payments_state import CURRENCY, Charge, Checkout, Invoice
from .telegram_state import BotState, Chat, TelegramState
from .telegram_users import ControlError

__all__ = ["pay", "check_out", "announce_charge", "stars_view"]


def _invoice_to_pay(bot: BotState, body: dict[str, Any]) -> tuple[Chat, Invoice]:
    """The chat and the unpaid invoice a pay call names by user_id (or chat_id) and message_id."""
    try:
        chat_id = int(body.get("chat_id", body.get("user_id")))
        message_id = int(body["message_id"])
    except (KeyError, TypeError, ValueError):
        raise ControlError(400, "pay needs an integer user_id (or chat_id) and the invoice's message_id") from None
    chat = bot.chats.get(chat_id)
    if chat is None:
        raise ControlError(404, f"user {chat_id} never wrote to the bot")
    invoice = bot.stars.invoices.get((chat.id, message_id))
    if invoice is None or message_id in chat.deleted:
        raise ControlError(404, f"no invoice {message_id} from the bot in chat {chat.id}")
    if invoice.charge_id is not None:
        raise ControlError(409, f"invoice {message_id} is already paid: {invoice.charge_id}")
    return chat, invoice


async def _wait_for_answer(checkout: Checkout, state: TelegramState) -> None:
    """Until the bot answers, the time is up, the stand-in is reset or shuts down."""
    answered = asyncio.ensure_future(checkout.answered.wait())
    closing = asyncio.ensure_future(state.closing.wait())
    try:
        await asyncio.wait({answered, closing}, timeout=state.limits.pre_checkout_timeout_s,
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    finally:
        answered.cancel()
        closing.cancel()


async def pay(state: TelegramState, bot: BotState, body: dict[str, Any]) -> dict[str, Any]:
    """The user pays an invoice: ``outcome`` is ``paid`` (with the charge), ``refused`` (with the
    bot's error_message) or ``no_answer`` (the bot did not answer in time; nothing is charged)."""
    chat, invoice = _invoice_to_pay(bot, body)
    return await check_out(state, bot, chat, invoice)


async def check_out(state: TelegramState, bot: BotState, chat: Chat, invoice: Invoice,
                    link: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The pre_checkout_query, the bot's answer, and on ok the charge and its successful_payment
    (``invoice``: a message's, or the one a user opened from ``link``)."""
    checkout = bot.stars.new_checkout(invoice)
    query = {"id": checkout.id, "from": dict(chat.user), "currency": CURRENCY, "total_amount": invoice.total_amount,
             "invoice_payload": invoice.payload}  # fmt: skip
    update_id = bot.updates.push("pre_checkout_query", query)
    chat.record(state.next_seq(), "pre_checkout_query", pre_checkout_query_id=checkout.id, update_id=update_id,
                message_id=invoice.message_id, total_amount=invoice.total_amount,
                invoice_payload=invoice.payload)  # fmt: skip
    await _wait_for_answer(checkout, state)
    result = {"pre_checkout_query_id": checkout.id, "update_id": update_id}
    if checkout.ok is None:
        checkout.expired = True  # a late answer is now "query is too old"
        chat.record(state.next_seq(), "pre_checkout_expired", pre_checkout_query_id=checkout.id)
        return {**result, "outcome": "no_answer"}
    if not checkout.ok:
        return {**result, "outcome": "refused", "error_message": checkout.error_message}
    charge = bot.stars.charge(checkout, chat.user, link)
    return {**result, **announce_charge(state, bot, chat, charge)}


def announce_charge(state: TelegramState, bot: BotState, chat: Chat, charge: Charge) -> dict[str, Any]:
    """The successful_payment message of ``charge`` to the bot (twice under ``duplicate_payment``),
    recorded in the transcript; what the control call answers about it."""
    times = 2 if state.faults.active("duplicate_payment", chat_id=chat.id) else 1
    message, update_ids = deliver_payment_message(bot, chat, "successful_payment", charge, times)
    chat.record(state.next_seq(), "successful_payment", message_id=message["message_id"], update_ids=update_ids,
                invoice_message_id=charge.invoice.message_id, **message["successful_payment"])  # fmt: skip
    paid = {"outcome": "paid", "telegram_payment_charge_id": charge.telegram_payment_charge_id,
            "provider_payment_charge_id": charge.provider_payment_charge_id, "message_id": message["message_id"],
            "update_ids": update_ids}  # fmt: skip
    if charge.subscription is not None:
        paid["subscription_expiration_date"] = charge.subscription_expiration_date
    return paid


def stars_view(bot: BotState) -> dict[str, Any]:
    """The bot's Stars for the control API: balance, StarTransactions, every charge and the refunded ones."""
    charges = [charge.view() for charge in bot.stars.charges.values()]
    return {"balance": bot.stars.balance, "transactions": bot.stars.star_transactions(), "charges": charges,
            "refunds": [charge for charge in charges if charge["refunded"]],
            "subscriptions": [subscription.view() for subscription in bot.stars.subscriptions.values()]}  # fmt: skip
