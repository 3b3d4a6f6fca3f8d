"""Telegram Stars subscriptions in the stand-in (``API_FACTS.md`` §5): ``createInvoiceLink``
with ``subscription_period`` (2592000 s, Stars only, at most 10,000 Stars a period) and
``editUserStarSubscription``, refused as Telegram refuses them; and the user's side through the
control API:

- ``POST /_sandbox/telegram/pay_link`` ``{"user_id", "link"}``: the user opens an invoice link
  and pays it — a pre_checkout_query first, as for an invoice message; a subscription's first
  payment comes with ``is_recurring``, ``is_first_recurring`` and ``subscription_expiration_date``.
- ``POST /_sandbox/telegram/subscriptions/renew`` ``{"user_id", "charge_id", "fail"?}``: the next
  period is due; Telegram charges it by itself (no pre_checkout_query) and sends a
  successful_payment with ``is_recurring`` — unless the user or the bot cancelled it (409), or
  ``fail`` says the user had not the Stars (the subscription lapses: nothing reaches the bot).
- ``POST /_sandbox/telegram/subscriptions/cancel`` ``{"user_id", "charge_id"}``: the user cancels
  in Telegram's settings; the bot is not told, the next renewal just never comes.

``charge_id`` names the subscription by any charge of it.  The error descriptions for a wrong
period, price or charge are the stand-in's own words (Telegram's are not documented).
"""

from __future__ import annotations

from typing import Any

from .telegram_call import Call
from .telegram_payments import _check_texts, _price
from .telegram_payments_checkout import announce_charge, check_out
from .telegram_payments_state import SUBSCRIPTION_PERIOD_S, Invoice, Subscription
from .telegram_spec import BadCall
from .telegram_state import BotState, TelegramState
from .telegram_users import ControlError

__all__ = ["METHODS", "pay_link", "renew", "cancel_by_user"]

#: The most a subscription may cost a period, in Stars.
SUBSCRIPTION_MAX_STARS = 10_000


async def create_invoice_link(call: Call) -> str:
    total = _price(call)
    _check_texts(call)
    period = call.get_int("subscription_period")
    if period is not None:
        if period != SUBSCRIPTION_PERIOD_S:
            raise BadCall(400, "Bad Request: SUBSCRIPTION_PERIOD_INVALID")
        if total > SUBSCRIPTION_MAX_STARS:
            raise BadCall(400, "Bad Request: SUBSCRIPTION_PRICE_INVALID")
    return call.bot.stars.add_link(total, call.get_str("payload"), period)


async def edit_user_star_subscription(call: Call) -> bool:
    """Cancel (``is_canceled``) or re-enable a subscription the bot cancelled; a charge that is
    not one of this user's subscription payments is Telegram's 400."""
    subscription = call.bot.stars.subscription_of(call.get_str("telegram_payment_charge_id", ""))
    if subscription is None or subscription.user_id != call.get_int("user_id"):
        raise BadCall(400, "Bad Request: CHARGE_ID_INVALID")
    if call.get_flag("is_canceled"):
        subscription.canceled_by_bot = True
    elif subscription.canceled_by_user or subscription.lapsed:
        raise BadCall(400, "Bad Request: SUBSCRIPTION_NOT_MODIFIED")  # only the bot's own cancel can be undone
    else:
        subscription.canceled_by_bot = False
    return True


def _user_and_chat(bot: BotState, body: dict[str, Any]):
    try:
        user_id = int(body["user_id"])
    except (KeyError, TypeError, ValueError):
        raise ControlError(400, "an integer user_id is needed") from None
    chat = bot.chats.get(user_id)
    if chat is None:
        raise ControlError(404, f"user {user_id} never wrote to the bot")
    return user_id, chat


async def pay_link(state: TelegramState, bot: BotState, body: dict[str, Any]) -> dict[str, Any]:
    """The user opens an invoice link and pays it (answers as ``pay`` does)."""
    user_id, chat = _user_and_chat(bot, body)
    terms = bot.stars.links.get(str(body.get("link", "")))
    if terms is None:
        raise ControlError(404, "no such invoice link from this bot")
    if terms.subscription_period and any(s.user_id == user_id and s.link == body["link"] and s.renews
                                         for s in bot.stars.subscriptions.values()):
        raise ControlError(409, "the user is subscribed through this link already")
    invoice = Invoice(chat.id, 0, terms.total_amount, terms.payload, subscription_period=terms.subscription_period)
    return await check_out(state, bot, chat, invoice, link=body["link"])


def _subscription(bot: BotState, body: dict[str, Any]) -> tuple[Subscription, Any]:
    user_id, chat = _user_and_chat(bot, body)
    subscription = bot.stars.subscription_of(str(body.get("charge_id", "")))
    if subscription is None or subscription.user_id != user_id:
        raise ControlError(404, "no subscription of this user with that charge")
    return subscription, chat


async def renew(state: TelegramState, bot: BotState, body: dict[str, Any]) -> dict[str, Any]:
    """The next period falls due: charged and announced, failed, or refused when cancelled."""
    subscription, chat = _subscription(bot, body)
    if not subscription.renews:
        raise ControlError(409, "the subscription was cancelled or has lapsed: nothing is charged")
    if body.get("fail"):
        subscription.lapsed = True
        return {"outcome": "failed", "subscription": subscription.view()}
    charge = bot.stars.renew(subscription, chat.user)
    return announce_charge(state, bot, chat, charge)


async def cancel_by_user(state: TelegramState, bot: BotState, body: dict[str, Any]) -> dict[str, Any]:
    subscription, _ = _subscription(bot, body)
    subscription.canceled_by_user = True
    return subscription.view()


METHODS = {
    "createInvoiceLink": create_invoice_link,
    "editUserStarSubscription": edit_user_star_subscription,
}
