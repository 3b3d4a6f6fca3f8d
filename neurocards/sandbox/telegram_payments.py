"""The bot's side of selling for Telegram Stars (``API_FACTS.md`` §5): sendInvoice,
answerPreCheckoutQuery, refundStarPayment and getStarTransactions, each refused the way Telegram
refuses it and recorded in the chat's transcript.

A payment in the transcript: ``bot_message`` with ``invoice`` (its ``payload`` too),
``pre_checkout_query``, then ``pre_checkout_answer`` (``ok``, ``error_message``) or
``pre_checkout_expired``, ``successful_payment``, and later ``refund``.

The stand-in sells digital goods only, so Stars are its only currency: an invoice in another
currency is refused as Telegram refuses one without a payment provider.  The user's side (paying
an invoice) is in ``telegram_payments_checkout``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .telegram_call import Call
from .telegram_messages import QUERY_TOO_OLD, Markup, open_chat, post_message, read_markup
from .telegram_payments_state import CURRENCY, Charge
from .telegram_spec import BadCall
from .telegram_state import BotState, Chat

__all__ = ["METHODS", "deliver_payment_message"]

PAYLOAD_LIMIT = 128  # bytes
TITLE_LIMIT = 32
DESCRIPTION_LIMIT = 255


def _price(call: Call) -> int:
    """The invoice's total from ``prices``: parsed as the Bot API server parses it, then checked
    as Telegram checks a Stars invoice (exactly one price, at least one Star)."""
    try:
        prices = json.loads(call.get_str("prices", ""))
    except ValueError:
        raise BadCall(400, "Bad Request: Can't parse prices JSON object") from None
    if not isinstance(prices, list):
        raise BadCall(400, "Bad Request: Expected an Array of labeled prices")
    for price in prices:
        _check_labeled_price(price)
    if not prices:
        raise BadCall(400, "Bad Request: There must be at least one price")
    _check_stars_invoice(call, prices)
    total = sum(price["amount"] for price in prices)
    if total < 1:
        raise BadCall(400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID")
    return total


def _check_labeled_price(price: Any) -> None:
    def refuse(reason: str) -> BadCall:
        return BadCall(400, f"Bad Request: Can't parse labeled price: {reason}")

    if not isinstance(price, dict):
        raise refuse("LabeledPrice must be an Object")
    if not isinstance(price.get("label"), str):
        raise refuse('Field "label" must be of type String')
    if not price["label"]:
        raise refuse("LabeledPrice label must be non-empty")
    if isinstance(price.get("amount"), bool) or not isinstance(price.get("amount"), int):
        raise refuse('Field "amount" must be a valid Number')


def _check_stars_invoice(call: Call, prices: list[dict[str, Any]]) -> None:
    if call.get_str("currency") != CURRENCY:
        raise BadCall(400, "Bad Request: PAYMENT_PROVIDER_INVALID")  # the sandbox has no payment providers
    tips = call.get_int("max_tip_amount", 0) or call.get_json("suggested_tip_amounts")
    if call.get_str("provider_token") or len(prices) != 1 or tips:
        raise BadCall(400, "Bad Request: STARS_INVOICE_INVALID")


def _check_texts(call: Call) -> None:
    if len(call.get_str("title", "")) > TITLE_LIMIT:
        raise BadCall(400, "Bad Request: TITLE_INVALID")
    if len(call.get_str("description", "")) > DESCRIPTION_LIMIT:
        raise BadCall(400, "Bad Request: DESCRIPTION_INVALID")
    if len(call.get_str("payload", "").encode()) > PAYLOAD_LIMIT:
        raise BadCall(400, "Bad Request: INVOICE_PAYLOAD_INVALID")


def _check_pay_button(markup: Markup) -> None:
    """A custom keyboard on an invoice must start with the Pay button (none: Telegram adds one)."""
    rows = [row for row in (markup.inline or {}).get("inline_keyboard", []) if row]
    if rows and rows[0][0].get("pay") is not True:
        raise BadCall(400, "Bad Request: REPLY_MARKUP_BUY_EMPTY")


async def send_invoice(call: Call) -> dict[str, Any]:
    chat = open_chat(call)
    total = _price(call)
    _check_texts(call)
    markup = read_markup(call)
    _check_pay_button(markup)
    invoice = {"title": call.get_str("title"), "description": call.get_str("description"),
               "start_parameter": call.get_str("start_parameter", ""), "currency": CURRENCY,
               "total_amount": total}  # fmt: skip
    payload = call.get_str("payload")
    view = {**invoice, "payload": payload, "photo_url": call.get_str("photo_url")}
    message = post_message(call, chat, {"invoice": invoice}, markup, {"invoice": _present(view)})
    call.bot.stars.add_invoice(chat.id, message["message_id"], total, payload)
    return message


async def answer_pre_checkout_query(call: Call) -> bool:
    """The bot's answer, accepted once and only within the time Telegram waits for it."""
    ok = call.get_flag("ok")
    error_message = None if ok else call.get_str("error_message", "")
    if not ok and not error_message:
        raise BadCall(400, 'Bad Request: Parameter "error_message" is required')
    query_id = call.get_str("pre_checkout_query_id")
    checkout = call.bot.stars.checkouts.get(query_id)
    if checkout is None or not checkout.open(call.state.limits.pre_checkout_timeout_s):
        raise BadCall(400, QUERY_TOO_OLD)
    checkout.answer(ok, error_message)
    chat = call.bot.chat(checkout.invoice.chat_id)
    chat.record(call.state.next_seq(), "pre_checkout_answer", pre_checkout_query_id=query_id, ok=ok,
                error_message=error_message)  # fmt: skip
    return True


async def refund_star_payment(call: Call) -> bool:
    """Give a payment's Stars back; the user's chat gets a refunded_payment message."""
    charge = call.bot.stars.refund(call.get_int("user_id"), call.get_str("telegram_payment_charge_id", ""))
    chat = call.bot.chat(charge.invoice.chat_id)
    message, update_ids = deliver_payment_message(call.bot, chat, "refunded_payment", charge)
    chat.record(call.state.next_seq(), "refund", message_id=message["message_id"], update_ids=update_ids,
                **message["refunded_payment"])  # fmt: skip
    return True


async def get_star_transactions(call: Call) -> dict[str, Any]:
    """StarTransactions, oldest first; ``limit`` is brought into 1-100 as the Bot API server does."""
    offset = max(call.get_int("offset", 0), 0)
    limit = min(max(call.get_int("limit", 100), 1), 100)
    return {"transactions": call.bot.stars.star_transactions()[offset : offset + limit]}


def deliver_payment_message(bot: BotState, chat: Chat, kind: str, charge: Charge,
                            times: int = 1) -> tuple[dict[str, Any], list[int | None]]:  # fmt: skip
    """The service message about ``charge`` (``successful_payment`` or ``refunded_payment``) in the
    user's chat, delivered to the bot ``times`` times (more than once only as an injected fault).

    A refunded_payment goes without provider_payment_charge_id, which the Bot API leaves optional
    there: a bot that counts on it breaks here rather than on the first real refund.
    """
    invoice = charge.invoice
    payment = {"currency": CURRENCY, "total_amount": invoice.total_amount, "invoice_payload": invoice.payload,
               "telegram_payment_charge_id": charge.telegram_payment_charge_id}  # fmt: skip
    if kind == "successful_payment":
        payment["provider_payment_charge_id"] = charge.provider_payment_charge_id
        if charge.subscription is not None:  # a period of a subscription: its end, and whether it is the first
            payment.update(subscription_expiration_date=charge.subscription_expiration_date, is_recurring=True,
                           is_first_recurring=charge.is_first_recurring)  # fmt: skip
    date = charge.date if kind == "successful_payment" else charge.refund_date
    message_id = chat.new_message_id()
    message = {"message_id": message_id, "from": dict(chat.user), "chat": chat.as_chat(), "date": date, kind: payment}
    chat.messages[message_id] = message
    update_ids = [bot.updates.push("message", copy.deepcopy(message)) for _ in range(times)]
    return message, update_ids


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


METHODS = {
    "sendInvoice": send_invoice,
    "answerPreCheckoutQuery": answer_pre_checkout_query,
    "refundStarPayment": refund_star_payment,
    "getStarTransactions": get_star_transactions,
}
