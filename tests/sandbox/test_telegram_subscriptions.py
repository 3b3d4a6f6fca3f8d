"""Telegram contract: Stars subscriptions — createInvoiceLink with subscription_period, the
user paying the link, renewals charged by Telegram itself, the user's and the bot's
cancellations (editUserStarSubscription) — through aiogram, the user acting through the
control API."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice

from neurocards.sandbox.telegram_client import TelegramSandboxError
from tests.sandbox.telegram_support import SELLER, run, sandbox, tg  # noqa: F401  (fixtures)
from tests.sandbox.test_telegram_payments import next_updates

PERIOD = 2_592_000
PAYLOAD = "s1.plan"


def plan_link(**changes):
    fields = {"title": "Monthly plan", "description": "30 credits a month", "payload": PAYLOAD, "currency": "XTR",
              "prices": [LabeledPrice(label="30 credits", amount=220)], "subscription_period": PERIOD}
    return {**fields, **changes}


async def subscribe(bot: Bot, tg, link: str) -> tuple[dict, list, int | None]:
    """The seller pays the link; the bot says yes at checkout: the pay result, the payment updates."""
    _, offset = await next_updates(bot, None, timeout=0)
    paying = asyncio.create_task(asyncio.to_thread(tg.pay_link, SELLER, link))
    (asked,), offset = await next_updates(bot, offset)
    assert asked.pre_checkout_query.invoice_payload == PAYLOAD
    await bot.answer_pre_checkout_query(asked.pre_checkout_query.id, ok=True)
    delivered, offset = await next_updates(bot, offset)
    return await paying, delivered, offset


def test_a_subscription_link_is_paid_and_renewed_by_telegram_until_cancelled(sandbox, tg):
    tg.send_command(SELLER, "subscription")

    async def scenario(bot: Bot):
        link = await bot.create_invoice_link(**plan_link())
        assert link.startswith("https://t.me/$")
        paid, (first,), offset = await subscribe(bot, tg, link)
        renewal = tg.renew_subscription(SELLER, paid["telegram_payment_charge_id"])
        (second,), offset = await next_updates(bot, offset)
        tg.cancel_subscription(SELLER, paid["telegram_payment_charge_id"])
        with pytest.raises(TelegramSandboxError) as refused:
            tg.renew_subscription(SELLER, renewal["telegram_payment_charge_id"])
        return paid, first, renewal, second, refused.value

    paid, first, renewal, second, refused = run(sandbox, scenario)

    payment = first.message.successful_payment
    assert (payment.is_recurring, payment.is_first_recurring, payment.total_amount) == (True, True, 220)
    assert payment.invoice_payload == PAYLOAD
    assert payment.telegram_payment_charge_id == paid["telegram_payment_charge_id"]
    renewed = second.message.successful_payment
    assert (renewed.is_recurring, renewed.is_first_recurring, renewed.invoice_payload) == (True, False, PAYLOAD)
    assert renewed.subscription_expiration_date - payment.subscription_expiration_date == PERIOD
    assert renewed.telegram_payment_charge_id == renewal["telegram_payment_charge_id"]
    assert renewal["telegram_payment_charge_id"] != paid["telegram_payment_charge_id"]
    assert refused.status == 409
    [subscription] = tg.subscriptions()
    assert (subscription["renews"], subscription["canceled_by_user"]) == (False, True)
    assert len(subscription["charge_ids"]) == 2
    transactions = tg.star_transactions()
    assert [t["source"]["subscription_period"] for t in transactions] == [PERIOD, PERIOD]
    assert tg.stars()["balance"] == 440


def test_the_bot_cancels_and_re_enables_a_subscription_and_a_failed_renewal_lapses_it(sandbox, tg):
    tg.send_command(SELLER, "subscription")

    async def scenario(bot: Bot):
        link = await bot.create_invoice_link(**plan_link())
        paid, _, offset = await subscribe(bot, tg, link)
        charge = paid["telegram_payment_charge_id"]
        assert await bot.edit_user_star_subscription(SELLER, charge, is_canceled=True)
        with pytest.raises(TelegramSandboxError):
            tg.renew_subscription(SELLER, charge)
        assert await bot.edit_user_star_subscription(SELLER, charge, is_canceled=False)
        with pytest.raises(TelegramBadRequest) as foreign:
            await bot.edit_user_star_subscription(SELLER + 1, charge, is_canceled=True)
        failed = tg.renew_subscription(SELLER, charge, fail=True)
        nothing, _ = await next_updates(bot, offset, timeout=1)
        with pytest.raises(TelegramBadRequest) as lapsed:
            await bot.edit_user_star_subscription(SELLER, charge, is_canceled=False)
        return failed, nothing, foreign.value, lapsed.value

    failed, nothing, foreign, lapsed = run(sandbox, scenario)
    assert failed["outcome"] == "failed" and nothing == []
    assert "CHARGE_ID_INVALID" in foreign.message and "SUBSCRIPTION_NOT_MODIFIED" in lapsed.message
    [subscription] = tg.subscriptions()
    assert (subscription["lapsed"], subscription["renews"], subscription["canceled_by_bot"]) == (True, False, False)


@pytest.mark.parametrize("changes, error", [
    ({"subscription_period": 86_400}, "SUBSCRIPTION_PERIOD_INVALID"),
    ({"prices": [LabeledPrice(label="too much", amount=10_001)]}, "SUBSCRIPTION_PRICE_INVALID"),
    ({"currency": "USD"}, "PAYMENT_PROVIDER_INVALID"),
])
def test_create_invoice_link_refuses_what_telegram_refuses(sandbox, tg, changes, error):
    with pytest.raises(TelegramBadRequest) as refused:
        run(sandbox, lambda bot: bot.create_invoice_link(**plan_link(**changes)))
    assert error in refused.value.message


def test_paying_a_link_twice_while_subscribed_is_refused(sandbox, tg):
    tg.send_command(SELLER, "subscription")

    async def scenario(bot: Bot):
        link = await bot.create_invoice_link(**plan_link())
        await subscribe(bot, tg, link)
        with pytest.raises(TelegramSandboxError) as again:
            tg.pay_link(SELLER, link)
        return again.value

    assert run(sandbox, scenario).status == 409
