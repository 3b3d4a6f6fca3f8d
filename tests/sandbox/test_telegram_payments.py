"""Telegram contract: selling for Stars (invoices, pre-checkout answers, payments, refunds and Star
transactions), through aiogram, with the seller paying through the control API."""

from __future__ import annotations

import asyncio
import datetime
import functools
import re
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice, Message, Update
from aiogram.utils.keyboard import InlineKeyboardBuilder

from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.telegram import create_app
from neurocards.sandbox.telegram_client import TelegramSandbox, TelegramSandboxError
from tests.sandbox.telegram_support import SELLER, bot_messages, run
from tests.sandbox.telegram_support import sandbox, tg  # noqa: F401  (fixtures)

PAYLOAD = "pack:10:seller-4242"
STARS = 50
SELLER_USER = {"id": SELLER, "is_bot": False, "first_name": "Seller", "language_code": "ru"}
CHARGE_ID = re.compile(r"stx[A-Za-z0-9_-]{80}")
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NO_STARS = {"balance": 0, "transactions": [], "charges": [], "refunds": [], "subscriptions": []}


def pack_invoice(**changes: Any) -> dict[str, Any]:
    """sendInvoice's arguments for a pack of 10 credits for 50 Stars, with ``changes``."""
    prices = [LabeledPrice(label="10 credits", amount=STARS)]
    fields = {"chat_id": SELLER, "title": "10 credits", "description": "Ten promo videos", "payload": PAYLOAD,
              "currency": "XTR", "prices": prices}  # fmt: skip
    return {**fields, **changes}


async def next_updates(bot: Bot, offset: int | None, timeout: int = 5) -> tuple[list[Update], int | None]:
    """The updates after ``offset`` (waiting up to ``timeout`` s for one), and the offset past them."""
    updates = await bot.get_updates(offset=offset, timeout=timeout)
    return updates, (updates[-1].update_id + 1 if updates else offset)


async def send_pack_invoice(bot: Bot) -> tuple[Message, int | None]:
    """The seller's /buy taken from the updates, then the pack's invoice: the Message, the offset."""
    _, offset = await next_updates(bot, None, timeout=0)
    return await bot.send_invoice(**pack_invoice()), offset


async def start_paying(bot: Bot, tg: TelegramSandbox, invoice: Message,
                       offset: int | None) -> tuple[asyncio.Task, Update, int | None]:  # fmt: skip
    """The seller starts paying ``invoice``: the pay call (done once the payment is decided), the
    pre_checkout_query update the bot got, and the offset past it."""
    paying = asyncio.create_task(asyncio.to_thread(tg.pay, SELLER, invoice.message_id))
    (asked,), offset = await next_updates(bot, offset)
    return paying, asked, offset


async def buy(bot: Bot, tg: TelegramSandbox) -> tuple[dict[str, Any], list[Update], int | None]:
    """The seller buys the pack: the pay result, the successful_payment updates, the offset past them."""
    invoice, offset = await send_pack_invoice(bot)
    paying, asked, offset = await start_paying(bot, tg, invoice, offset)
    await bot.answer_pre_checkout_query(asked.pre_checkout_query.id, ok=True)
    delivered, offset = await next_updates(bot, offset)
    return await paying, delivered, offset


def without_seq(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "seq"}


def unix(moment: datetime.datetime) -> int:
    """A date as Telegram sent it (aiogram hands it over as a datetime)."""
    return int(moment.timestamp())


def test_send_invoice_shows_a_stars_invoice_with_its_pay_button(sandbox, tg):
    tg.send_command(SELLER, "buy")
    builder = InlineKeyboardBuilder().button(text="Pay ⭐️50", pay=True).button(text="Cancel", callback_data="cancel")
    keyboard = builder.adjust(1).as_markup()
    # When the bot sends an invoice with its own keyboard, Pay first
    sent = run(sandbox, lambda bot: bot.send_invoice(**pack_invoice(reply_markup=keyboard, start_parameter="buy10")))
    # Then the Message carries the invoice and the keyboard, and so does the transcript
    invoice = {"title": "10 credits", "description": "Ten promo videos", "start_parameter": "buy10", "currency": "XTR",
               "total_amount": 50}  # fmt: skip
    assert sent.invoice.model_dump() == invoice
    assert [[button.text for button in row] for row in sent.reply_markup.inline_keyboard] == [["Pay ⭐️50"], ["Cancel"]]
    assert sent.reply_markup.inline_keyboard[0][0].pay is True
    (event,) = bot_messages(tg)
    assert without_seq(event) == {
        "type": "bot_message", "message_id": sent.message_id, "invoice": {**invoice, "payload": PAYLOAD},
        "reply_markup": {"inline_keyboard": [[{"text": "Pay ⭐️50", "pay": True}],
                                             [{"text": "Cancel", "callback_data": "cancel"}]]},
    }  # fmt: skip
    assert tg.transcript(SELLER)["messages"][str(sent.message_id)]["invoice"] == invoice


def test_a_128_byte_payload_and_an_empty_provider_token_are_accepted(sandbox, tg):
    tg.send_command(SELLER, "buy")
    payload = "я" * 64  # 64 characters, 128 bytes in UTF-8
    sent = run(sandbox, lambda bot: bot.send_invoice(**pack_invoice(payload=payload, provider_token="")))
    assert (sent.invoice.currency, sent.invoice.total_amount, sent.invoice.start_parameter) == ("XTR", 50, "")
    assert sent.reply_markup is None
    assert bot_messages(tg)[0]["invoice"]["payload"] == payload


NOT_PAY_FIRST = InlineKeyboardBuilder().button(text="Cancel", callback_data="cancel").as_markup()


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"currency": "USD"}, "Bad Request: PAYMENT_PROVIDER_INVALID"),
        ({"prices": [LabeledPrice(label="credits", amount=40), LabeledPrice(label="bonus", amount=10)]},
         "Bad Request: STARS_INVOICE_INVALID"),
        ({"provider_token": "284685063:TEST:NjY5ZDU3"}, "Bad Request: STARS_INVOICE_INVALID"),
        ({"max_tip_amount": 10}, "Bad Request: STARS_INVOICE_INVALID"),
        ({"payload": "я" * 65}, "Bad Request: INVOICE_PAYLOAD_INVALID"),
        ({"prices": []}, "Bad Request: There must be at least one price"),
        ({"prices": [LabeledPrice(label="free", amount=0)]}, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID"),
        ({"prices": [LabeledPrice(label="", amount=50)]},
         "Bad Request: Can't parse labeled price: LabeledPrice label must be non-empty"),
        ({"title": "x" * 33}, "Bad Request: TITLE_INVALID"),
        ({"reply_markup": NOT_PAY_FIRST}, "Bad Request: REPLY_MARKUP_BUY_EMPTY"),
    ],
    ids=["usd", "two-prices", "provider-token", "tips", "long-payload", "no-price", "zero-stars", "empty-label",
         "long-title", "pay-not-first"],
)  # fmt: skip
def test_send_invoice_refuses_what_telegram_refuses(sandbox, tg, changes, description):
    tg.send_command(SELLER, "buy")
    # When the bot sends an invoice Telegram would not take
    with pytest.raises(TelegramBadRequest) as refused:
        run(sandbox, lambda bot: bot.send_invoice(**pack_invoice(**changes)))
    # Then it gets Telegram's words, and the chat shows nothing
    assert refused.value.message == description
    assert bot_messages(tg) == []
    assert tg.stars() == NO_STARS


def test_pay_asks_the_bot_then_delivers_the_successful_payment(sandbox, tg):
    tg.send_command(SELLER, "buy")

    async def scenario(bot: Bot):
        invoice, offset = await send_pack_invoice(bot)
        # When the seller pays and the bot answers ok
        paying, asked, offset = await start_paying(bot, tg, invoice, offset)
        await bot.answer_pre_checkout_query(asked.pre_checkout_query.id, ok=True)
        (delivered,), _ = await next_updates(bot, offset)
        return invoice, await paying, asked, delivered

    invoice, paid, asked, delivered = run(sandbox, scenario)
    # Then the bot was asked first, with the invoice's amount and payload
    query = asked.pre_checkout_query
    assert (asked.update_id, query.id) == (paid["update_id"], paid["pre_checkout_query_id"])
    assert query.model_dump(exclude_none=True, by_alias=True) == {
        "id": paid["pre_checkout_query_id"], "from": SELLER_USER, "currency": "XTR", "total_amount": 50,
        "invoice_payload": PAYLOAD,
    }  # fmt: skip
    # And then got the payment, under a fresh Stars charge id
    charge_id = paid["telegram_payment_charge_id"]
    assert CHARGE_ID.fullmatch(charge_id)
    assert paid == {"pre_checkout_query_id": query.id, "update_id": asked.update_id, "outcome": "paid",
                    "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": f"{SELLER}_1",
                    "message_id": invoice.message_id + 1, "update_ids": [delivered.update_id]}  # fmt: skip
    message = delivered.message
    assert (message.message_id, message.from_user.id, message.chat.id) == (invoice.message_id + 1, SELLER, SELLER)
    successful = {"currency": "XTR", "total_amount": 50, "invoice_payload": PAYLOAD,
                  "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": f"{SELLER}_1"}  # fmt: skip
    assert message.successful_payment.model_dump(exclude_none=True) == successful
    # And the transcript tells the whole story
    events = [without_seq(event) for event in tg.transcript(SELLER)["events"]]
    assert [event["type"] for event in events] == [
        "user_message", "bot_message", "pre_checkout_query", "pre_checkout_answer", "successful_payment",
    ]  # fmt: skip
    assert events[2:] == [
        {"type": "pre_checkout_query", "pre_checkout_query_id": query.id, "update_id": asked.update_id,
         "message_id": invoice.message_id, "total_amount": 50, "invoice_payload": PAYLOAD},
        {"type": "pre_checkout_answer", "pre_checkout_query_id": query.id, "ok": True},
        {"type": "successful_payment", "message_id": message.message_id, "update_ids": [delivered.update_id],
         "invoice_message_id": invoice.message_id, **successful},
    ]  # fmt: skip


def test_a_refused_pre_checkout_charges_nothing_and_is_recorded(sandbox, tg):
    tg.send_command(SELLER, "buy")

    async def scenario(bot: Bot):
        invoice, offset = await send_pack_invoice(bot)
        paying, asked, offset = await start_paying(bot, tg, invoice, offset)
        query_id = asked.pre_checkout_query.id
        # When the bot refuses without a reason, then with one, then changes its mind
        with pytest.raises(TelegramBadRequest) as no_reason:
            await bot.answer_pre_checkout_query(query_id, ok=False)
        await bot.answer_pre_checkout_query(query_id, ok=False, error_message="This pack is no longer sold")
        with pytest.raises(TelegramBadRequest) as twice:
            await bot.answer_pre_checkout_query(query_id, ok=True)
        return asked, await paying, no_reason.value.message, twice.value.message, await bot.get_updates(offset=offset)

    asked, refused, no_reason, twice, after = run(sandbox, scenario)
    # Then the reason was required, the first answer stands, and no payment follows
    assert no_reason == 'Bad Request: Parameter "error_message" is required'
    assert twice == TOO_OLD
    assert refused == {"pre_checkout_query_id": asked.pre_checkout_query.id, "update_id": asked.update_id,
                       "outcome": "refused", "error_message": "This pack is no longer sold"}  # fmt: skip
    assert after == []
    assert tg.stars() == NO_STARS
    last = without_seq(tg.transcript(SELLER)["events"][-1])
    assert last == {"type": "pre_checkout_answer", "pre_checkout_query_id": asked.pre_checkout_query.id, "ok": False,
                    "error_message": "This pack is no longer sold"}  # fmt: skip


def test_no_answer_in_time_charges_nothing_and_a_late_answer_is_too_old():
    # Given a stand-in that waits 0.2 s for the bot's answer instead of Telegram's 10 s
    with ThreadedApp(functools.partial(create_app, pre_checkout_timeout_s=0.2)) as quick, \
            TelegramSandbox(quick.url) as tg:  # fmt: skip
        tg.send_command(SELLER, "buy")

        async def scenario(bot: Bot):
            invoice, offset = await send_pack_invoice(bot)
            paying, asked, offset = await start_paying(bot, tg, invoice, offset)
            # When the bot lets the time pass, then answers
            unanswered = await paying
            with pytest.raises(TelegramBadRequest) as late:
                await bot.answer_pre_checkout_query(asked.pre_checkout_query.id, ok=True)
            return asked, unanswered, late.value.message, await bot.get_updates(offset=offset)

        asked, unanswered, late, after = run(quick, scenario)
        # Then the payment failed: nothing charged, nothing delivered
        query_id = asked.pre_checkout_query.id
        assert unanswered == {"pre_checkout_query_id": query_id, "update_id": asked.update_id, "outcome": "no_answer"}
        assert late == TOO_OLD
        assert after == []
        assert tg.stars() == NO_STARS
        events = [without_seq(event) for event in tg.transcript(SELLER)["events"]]
        assert [event["type"] for event in events] == ["user_message", "bot_message", "pre_checkout_query",
                                                       "pre_checkout_expired"]  # fmt: skip
        assert events[-1] == {"type": "pre_checkout_expired", "pre_checkout_query_id": query_id}
        assert tg.set_limits()["pre_checkout_timeout_s"] == 0.2


def test_duplicate_delivery_fault_sends_the_same_payment_twice(sandbox, tg):
    tg.send_command(SELLER, "buy")
    # Given the fault: the next successful_payment in the seller's chat is delivered twice
    tg.duplicate_next_payment(chat_id=SELLER)
    paid, delivered, _ = run(sandbox, lambda bot: buy(bot, tg))
    # Then the bot gets two updates with one and the same message, and Telegram holds one charge
    first, second = delivered
    assert [first.update_id, second.update_id] == paid["update_ids"] == [first.update_id, first.update_id + 1]
    assert first.message.model_dump() == second.message.model_dump()
    assert second.message.successful_payment.telegram_payment_charge_id == paid["telegram_payment_charge_id"]
    stars = tg.stars()
    assert (stars["balance"], len(stars["transactions"]), len(stars["charges"])) == (50, 1, 1)
    assert tg.transcript(SELLER)["events"][-1]["update_ids"] == paid["update_ids"]


def test_refund_once_then_again_is_already_refunded(sandbox, tg):
    tg.send_command(SELLER, "buy")

    async def scenario(bot: Bot):
        paid, (delivered,), offset = await buy(bot, tg)
        charge_id = paid["telegram_payment_charge_id"]
        # When the bot refunds the payment, then again, then charges that are not there
        refunded = await bot.refund_star_payment(SELLER, charge_id)
        (notice,), _ = await next_updates(bot, offset)
        errors = []
        for user_id, charge in ((SELLER, charge_id), (SELLER, "stxNoSuchCharge"), (SELLER + 1, charge_id)):
            with pytest.raises(TelegramBadRequest) as refused:
                await bot.refund_star_payment(user_id, charge)
            errors.append(refused.value.message)
        return paid, delivered, refunded, notice, errors

    paid, delivered, refunded, notice, errors = run(sandbox, scenario)
    # Then the first refund is done and told in the chat; the others get Telegram's errors
    charge_id = paid["telegram_payment_charge_id"]
    assert refunded is True
    assert errors == ["Bad Request: CHARGE_ALREADY_REFUNDED", "Bad Request: CHARGE_NOT_FOUND",
                      "Bad Request: CHARGE_NOT_FOUND"]  # fmt: skip
    refund = {"currency": "XTR", "total_amount": 50, "invoice_payload": PAYLOAD,
              "telegram_payment_charge_id": charge_id}  # fmt: skip
    assert notice.message.refunded_payment.model_dump(exclude_none=True) == refund
    assert (notice.message.message_id, notice.message.from_user.id) == (paid["message_id"] + 1, SELLER)
    assert without_seq(tg.transcript(SELLER)["events"][-1]) == {
        "type": "refund", "message_id": paid["message_id"] + 1, "update_ids": [notice.update_id], **refund,
    }  # fmt: skip
    (charge,) = tg.refunds()
    assert charge == {
        "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": f"{SELLER}_1", "user_id": SELLER,
        "chat_id": SELLER, "invoice_message_id": paid["message_id"] - 1, "currency": "XTR", "total_amount": 50,
        "invoice_payload": PAYLOAD, "date": unix(delivered.message.date), "refunded": True,
        "refund_date": unix(notice.message.date),
    }  # fmt: skip


def test_get_star_transactions_lists_the_payment_and_its_refund(sandbox, tg):
    tg.send_command(SELLER, "buy")

    async def scenario(bot: Bot):
        paid, (delivered,), offset = await buy(bot, tg)
        await bot.refund_star_payment(SELLER, paid["telegram_payment_charge_id"])
        (notice,), _ = await next_updates(bot, offset)
        # When the bot lists its transactions: all, after the first, only the first
        listed = [await bot.get_star_transactions(), await bot.get_star_transactions(offset=1),
                  await bot.get_star_transactions(limit=1)]  # fmt: skip
        return paid, delivered, notice, listed

    paid, delivered, notice, (everything, after_first, first_only) = run(sandbox, scenario)
    # Then the payment comes from the seller and the refund goes back to them, under one id
    partner = {"type": "user", "transaction_type": "invoice_payment", "user": SELLER_USER, "invoice_payload": PAYLOAD}
    charge_id = paid["telegram_payment_charge_id"]
    payment = {"id": charge_id, "date": unix(delivered.message.date), "source": partner, "amount": 50}
    refund = {"id": charge_id, "date": unix(notice.message.date), "receiver": partner, "amount": 50}
    assert _transactions_json(everything) == [payment, refund]
    assert _transactions_json(after_first) == [refund]
    assert _transactions_json(first_only) == [payment]
    # And the control API shows the same list
    assert tg.star_transactions() == [payment, refund]
    assert tg.stars()["balance"] == 0


def _transactions_json(transactions) -> list[dict[str, Any]]:
    """StarTransactions as the JSON Telegram sent (dates as Unix time)."""
    return [
        {**transaction.model_dump(mode="json", exclude_none=True, by_alias=True), "date": unix(transaction.date)}
        for transaction in transactions.transactions
    ]


def test_pay_control_refuses_what_cannot_be_paid(sandbox, tg):
    # Given a seller who never wrote, then a text message and an invoice already paid
    with pytest.raises(TelegramSandboxError) as stranger:
        tg.pay(SELLER, 1)
    tg.send_command(SELLER, "buy")
    text = run(sandbox, lambda bot: bot.send_message(SELLER, "Choose a pack"))
    with pytest.raises(TelegramSandboxError) as not_invoice:
        tg.pay(SELLER, text.message_id)
    paid, _, _ = run(sandbox, lambda bot: buy(bot, tg))
    invoice_id = paid["message_id"] - 1
    with pytest.raises(TelegramSandboxError) as paid_twice:
        tg.pay(SELLER, invoice_id)
    by_chat = httpx.post(f"{sandbox.url}/_sandbox/pay", json={"chat_id": SELLER, "message_id": invoice_id})
    unnamed = httpx.post(f"{sandbox.url}/_sandbox/pay", json={"message_id": invoice_id})
    # Then each is refused with a status and a reason
    assert (stranger.value.status, str(stranger.value)) == (404, f"404: user {SELLER} never wrote to the bot")
    assert (not_invoice.value.status, str(not_invoice.value)) == (
        404, f"404: no invoice {text.message_id} from the bot in chat {SELLER}")  # fmt: skip
    assert (paid_twice.value.status, str(paid_twice.value)) == (
        409, f"409: invoice {invoice_id} is already paid: {paid['telegram_payment_charge_id']}")  # fmt: skip
    assert (by_chat.status_code, by_chat.json()) == (409, {"error": str(paid_twice.value)[len("409: "):]})
    assert (unnamed.status_code, unnamed.json()) == (
        400, {"error": "pay needs an integer user_id (or chat_id) and the invoice's message_id"})  # fmt: skip
    # And a reset forgets the Stars
    tg.reset()
    assert tg.stars() == NO_STARS
