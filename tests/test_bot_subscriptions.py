"""The monthly plan end to end (issue 22): /subscription sells it through an
invoice link; the seller pays it, Telegram renews it, each month credited once
with last month's unused plan credits expired; "Cancel" tells Telegram
(editUserStarSubscription) and a renewal for the cancelled plan — forged or
replayed — credits nothing and says so; someone else's plan's button changes
nothing.  The real bot on both databases; the audit clean after each test."""

from __future__ import annotations

import time

import pytest

from neurocards.models import LedgerEntry, LedgerKind, Payment, Subscription
from neurocards.money import invoices
from neurocards.money.audit import audit
from neurocards.settings import SANDBOX_BOT_TOKEN, load_settings
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.services import wait_until

pytestmark = [pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module"),
              pytest.mark.usefixtures("bot")]

KEY = invoices.payload_key(SANDBOX_BOT_TOKEN)


def plan():
    return load_settings().credits.subscription  # (the stack's: its environment is the test's)


def welcome() -> int:
    return load_settings().credits.welcome


def offer(chat: Chat) -> tuple[dict, str]:
    """/subscription with no plan: the offer and its invoice link."""
    chat.command("subscription")
    shown = chat.wait_text(chat.t("subscription.offer", credits=plan().credits, stars=plan().stars) + "\n\n"
                           + chat.t("subscription.offer.expire"))
    [button] = shown["reply_markup"]["inline_keyboard"][0]
    assert button["text"] == chat.t("subscription.button.subscribe", stars=plan().stars)
    return shown, button["url"]


def subscribed(chat: Chat) -> dict:
    """The seller subscribes: the payment, once the receipt is in the chat."""
    _, link = offer(chat)
    paid = chat.tg.pay_link(chat.id, link)
    assert paid["outcome"] == "paid"
    renews = time.strftime("%Y-%m-%d", time.gmtime(paid["subscription_expiration_date"]))
    chat.wait_text(chat.t("subscription.receipt.first", stars=plan().stars, credits=plan().credits,
                          balance=welcome() + plan().credits, renews=renews))
    return paid


def plan_of(chat: Chat) -> Subscription:
    return wait_until(lambda: Subscription.get_or_none(Subscription.user == chat.id), what="the plan")


def test_a_seller_subscribes_and_each_renewal_credits_a_month_once(bot):
    # Given a seller who subscribed through /subscription's link
    chat = Chat(bot)
    chat.start()
    paid = subscribed(chat)
    subscription = plan_of(chat)
    assert (subscription.status, subscription.months, subscription.first_charge_id) == (
        "active", 1, paid["telegram_payment_charge_id"])

    # When Telegram renews it, and the renewal's update comes twice
    chat.tg.duplicate_next_payment(chat_id=chat.id)
    renewal = chat.tg.renew_subscription(chat.id, paid["telegram_payment_charge_id"])

    # Then the month is credited once, last month's unused plan credits expired (the welcome ones stay)
    renews = time.strftime("%Y-%m-%d", time.gmtime(renewal["subscription_expiration_date"]))
    chat.wait_text(chat.t("subscription.receipt.renewal", stars=plan().stars, credits=plan().credits,
                          balance=welcome() + plan().credits, renews=renews)
                   + "\n" + chat.t("subscription.receipt.expired", credits=plan().credits))
    assert wait_until(lambda: Subscription.get_by_id(subscription.id).months == 2, what="the renewal")
    months = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == LedgerKind.SUBSCRIPTION))
    assert months.count() == 2 and chat.balance() == welcome() + plan().credits
    assert Payment.select().where(Payment.subscription_id == subscription.id).count() == 2

    # and /subscription shows the plan with its next renewal
    chat.command("subscription")
    shown = chat.wait_text(chat.t("subscription.active", credits=plan().credits, stars=plan().stars, renews=renews))
    assert buttons(shown) == [(chat.t("subscription.button.cancel"), f"sub:{subscription.id}:1")]
    assert audit()["ok"]


def test_cancel_tells_telegram_and_a_renewal_for_the_cancelled_plan_credits_nothing(bot):
    # Given a subscribed seller who presses "Cancel"
    chat = Chat(bot)
    chat.start()
    paid = subscribed(chat)
    subscription = plan_of(chat)
    chat.command("subscription")
    shown = chat.wait_text(chat.t("subscription.active", credits=plan().credits, stars=plan().stars,
                                  renews=f"{subscription.period_end:%Y-%m-%d}"))
    chat.press(callback_data=f"sub:{subscription.id}:1", message_id=shown["message_id"])
    until = f"{subscription.period_end:%Y-%m-%d}"
    chat.wait_edited(shown, chat.t("subscription.cancelled", credits=plan().credits, until=until))

    # Then Telegram was told, and renews nothing more
    [sandboxed] = [s for s in chat.tg.subscriptions() if s["user_id"] == chat.id]
    assert (sandboxed["canceled_by_bot"], sandboxed["renews"]) == (True, False)
    assert Subscription.get_by_id(subscription.id).status == "cancelled"

    # When a renewal for it comes all the same (replayed, or forged with our payload)
    balance = chat.balance()
    chat.tg.push_update("message", {
        "message_id": 99_001, "date": int(time.time()), "chat": {"id": chat.id, "type": "private"},
        "from": {"id": chat.id, "is_bot": False, "first_name": "Seller", "language_code": "en"},
        "successful_payment": {"currency": "XTR", "total_amount": plan().stars,
                               "invoice_payload": subscription.invoice_payload,
                               "telegram_payment_charge_id": "stx-forged-renewal", "provider_payment_charge_id": "",
                               "is_recurring": True, "subscription_expiration_date": int(time.time()) + 5_184_000}})

    # Then nothing is credited, the payment is kept for an operator, and the seller is told
    chat.wait_text(chat.t("subscription.renewal_refused", stars=plan().stars, charge_id="stx-forged-renewal",
                          support=load_settings().telegram.support_contact))
    assert Payment.get(Payment.telegram_charge_id == "stx-forged-renewal").status == "unmatched"
    assert chat.balance() == balance and Subscription.get_by_id(subscription.id).months == 1
    assert paid["telegram_payment_charge_id"] != "stx-forged-renewal"

    # and "Keep the plan" takes the cancellation back, with Telegram
    chat.press(callback_data=f"sub:{subscription.id}:0", message_id=shown["message_id"])
    chat.wait_edited(shown, chat.t("subscription.active", credits=plan().credits, stars=plan().stars, renews=until))
    [sandboxed] = [s for s in chat.tg.subscriptions() if s["user_id"] == chat.id]
    assert sandboxed["renews"] is True
    assert audit()["ok"]


def test_a_pack_payload_paid_as_a_subscription_credits_nothing(bot):
    chat = Chat(bot)
    chat.start()
    pack = invoices.issue(KEY, user_id=chat.id, credits=5, stars=50)
    chat.tg.push_update("message", {
        "message_id": 99_002, "date": int(time.time()), "chat": {"id": chat.id, "type": "private"},
        "from": {"id": chat.id, "is_bot": False, "first_name": "Seller", "language_code": "en"},
        "successful_payment": {"currency": "XTR", "total_amount": 50, "invoice_payload": pack,
                               "telegram_payment_charge_id": "stx-pack-as-plan", "provider_payment_charge_id": "",
                               "is_recurring": True, "is_first_recurring": True,
                               "subscription_expiration_date": int(time.time()) + 2_592_000}})
    chat.wait_text(chat.t("pay.unmatched", stars=50, charge_id="stx-pack-as-plan",
                          support=load_settings().telegram.support_contact))
    assert chat.balance() == welcome() and Subscription.select().where(Subscription.user == chat.id).count() == 0
    assert audit()["ok"]


def test_a_button_for_someone_elses_plan_changes_nothing(bot):
    owner, other = Chat(bot), Chat(bot)
    owner.start()
    subscribed(owner)
    subscription = plan_of(owner)
    other.start()
    shown, _ = offer(other)
    edits = bot.calls("telegram").get("editUserStarSubscription", 0)
    for data in (f"sub:{subscription.id}:1", "sub:999999:1"):
        tap = other.press(callback_data=data, message_id=shown["message_id"])
        answer = other.wait_answer(tap["callback_query_id"])
        assert answer["text"] == other.t("subscription.not_yours") and answer["show_alert"] in (True, "true")
    assert Subscription.get_by_id(subscription.id).status == "active"
    assert bot.calls("telegram").get("editUserStarSubscription", 0) == edits


def test_a_renewal_that_crossed_the_sellers_cancel_is_refunded_by_itself(bot):
    # Given a subscribed seller, and the bot away for a moment
    chat = Chat(bot)
    chat.start()
    paid = subscribed(chat)
    subscription = plan_of(chat)
    bot.stop("bot")
    try:
        # When Telegram renews the plan, and before the bot reads that update the seller's cancel is recorded
        # (pressed on another instance: Telegram told, then our row)
        renewal = chat.tg.renew_subscription(chat.id, paid["telegram_payment_charge_id"])
        import httpx

        from neurocards.money import subscriptions

        told = httpx.post(f"{bot.telegram.url}/bot{SANDBOX_BOT_TOKEN}/editUserStarSubscription",
                          json={"user_id": chat.id, "telegram_payment_charge_id": paid["telegram_payment_charge_id"],
                                "is_canceled": True}).json()
        assert told["ok"] and subscriptions.cancel(subscription.id, chat.id)
    finally:
        bot.start_bot()

    # Then the renewal credits nothing, its Stars go back by themselves, once, and the seller is told
    chat.wait_text(chat.t("subscription.renewal_refunded", stars=plan().stars), timeout=30)
    charge = renewal["telegram_payment_charge_id"]
    assert [r["telegram_payment_charge_id"] for r in chat.tg.refunds()].count(charge) == 1
    payment = Payment.get(Payment.telegram_charge_id == charge)
    assert (payment.status, payment.credits, payment.subscription_id) == ("refunded", 0, None)
    assert chat.balance() == welcome() + plan().credits and Subscription.get_by_id(subscription.id).months == 1
    report = audit()
    assert report["ok"], report["problems"]
