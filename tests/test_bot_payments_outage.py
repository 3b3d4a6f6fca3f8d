"""A Stars payment is never lost to a database outage (issue 25, hole 2).

Telegram delivers ``successful_payment`` once and has the Stars by then.  With
the database away at that moment — SQLite's write lock held past the busy
timeout, PostgreSQL stopped — the real bot waits the outage out
(``credits.payment_wait_s``); an outage longer than that leaves the charge to
the reconciler, which finds it in ``getStarTransactions`` under a payload we
signed and credits it through the same exactly-once path.  Both engines.
"""

from __future__ import annotations

import pytest

from neurocards.models import LedgerEntry, Payment
from neurocards.money.audit import audit
from tests.bot_fixtures import Chat, bot  # noqa: F401  (fixtures)
from tests.outage_fixtures import outage_stack
from tests.pipeline_fixtures import fresh  # noqa: F401  (fixtures)
from tests.services import wait_until
from tests.test_bot_payments import bot_counter, buy, receipt

#: The bot waits this long for the database before giving a payment up to the reconciler.
PAYMENT_WAIT_S = 2


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def outage(request, redis_server, tmp_path_factory):
    with outage_stack(request.param, redis_server, tmp_path_factory, CREDITS__PAYMENT_WAIT_S=str(PAYMENT_WAIT_S),
                      CREDITS__RECONCILE_PERIOD_S="1", CREDITS__RECOVER_AFTER_S="1") as stack_and_switches:
        yield stack_and_switches


@pytest.fixture(scope="module")
def stack(outage):
    return outage[0]


def credited(chat: Chat, charge: str) -> list[LedgerEntry]:
    return list(LedgerEntry.select().where(LedgerEntry.key == f"purchase:{charge}"))


def test_a_payment_arriving_during_a_short_outage_is_credited_once_it_ends(bot, outage):
    _, take_away, bring_back = outage
    # Given a seller with an invoice
    chat = Chat(bot)
    chat.start()
    invoice = buy(chat)
    # When they pay while the database is away, for less than the bot waits
    take_away()
    try:
        charge = chat.tg.pay(chat.id, invoice["message_id"])["telegram_payment_charge_id"]
        wait_until(lambda: "could not record" in bot.log("bot"), timeout=20, what="the bot to meet the outage")
    finally:
        bring_back()
    # Then the pack is credited once, with its receipt
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=6), timeout=30)
    assert len(credited(chat, charge)) == 1
    assert chat.balance() == 6


def test_a_payment_whose_update_was_given_up_is_credited_by_the_reconciler(bot, outage):
    _, take_away, bring_back = outage
    # Given a seller with an invoice, and the bot's count of recovered payments
    chat = Chat(bot)
    chat.start()
    invoice = buy(chat)
    recovered_before = bot_counter(bot, "neurocards_payments_total", outcome="recovered")
    # When they pay while the database is away for longer than the bot waits: the update is lost
    take_away()
    try:
        charge = chat.tg.pay(chat.id, invoice["message_id"])["telegram_payment_charge_id"]
        chat.wait_text(chat.t("pay.delayed", stars=50, minutes=1, support="@neurocards_support"), timeout=30)
    finally:
        bring_back()
    # Then the reconciler credits the charge Telegram lists, once, and the seller gets the receipt
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=6), timeout=30)
    payment = Payment.get(Payment.telegram_charge_id == charge)
    assert payment.recovered_at is not None
    assert len(credited(chat, charge)) == 1 and chat.balance() == 6
    assert bot_counter(bot, "neurocards_payments_total", outcome="recovered") == recovered_before + 1
    report = audit()
    assert report["ok"], report["problems"]
    assert report["checked"]["payments_recovered"] >= 1


def test_a_months_renewal_whose_update_was_given_up_is_credited_as_a_month_by_the_reconciler(bot, outage):
    import time

    from neurocards.models import LedgerKind, Subscription
    from tests.test_bot_subscriptions import plan, plan_of, subscribed, welcome

    _, take_away, bring_back = outage
    # Given a subscribed seller
    chat = Chat(bot)
    chat.start()
    paid = subscribed(chat)
    subscription = plan_of(chat)
    # When Telegram renews the plan while the database is away for longer than the bot waits
    take_away()
    try:
        renewal = chat.tg.renew_subscription(chat.id, paid["telegram_payment_charge_id"])
        chat.wait_text(chat.t("pay.delayed", stars=plan().stars, minutes=1, support="@neurocards_support"),
                       timeout=30)
    finally:
        bring_back()
    # Then the reconciler credits it as the plan's second month, once, with the renewal's receipt
    renews = time.strftime("%Y-%m-%d", time.gmtime(renewal["subscription_expiration_date"]))
    chat.wait_text(chat.t("subscription.receipt.renewal", stars=plan().stars, credits=plan().credits,
                          balance=welcome() + plan().credits, renews=renews)
                   + "\n" + chat.t("subscription.receipt.expired", credits=plan().credits), timeout=30)
    payment = Payment.get(Payment.telegram_charge_id == renewal["telegram_payment_charge_id"])
    assert payment.recovered_at is not None and payment.subscription_id == subscription.id
    assert Subscription.get_by_id(subscription.id).months == 2
    months = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == LedgerKind.SUBSCRIPTION))
    assert months.count() == 2 and chat.balance() == welcome() + plan().credits
    report = audit()
    assert report["ok"], report["problems"]
