"""Buying credits with Telegram Stars, end to end: the real bot process against
the sandbox's Telegram (which answers as the Bot API does), on both databases.
Every test checks the exact words the seller sees and what the ledger says."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from neurocards.models import LedgerEntry, Payment, PendingRequest
from neurocards.money import invoices
from neurocards.money.audit import audit
from neurocards.settings import SANDBOX_BOT_TOKEN
from tests.bot_fixtures import ADMIN_ID, Chat, bot, bot_messages, buttons  # noqa: F401  (fixtures)
from tests.conftest import run_cli
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.services import wait_until

pytestmark = [pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module"),
              pytest.mark.usefixtures("bot")]

KEY = invoices.payload_key(SANDBOX_BOT_TOKEN)
#: Two operators, who may refund one charge at the same moment.
SECOND_ADMIN_ID = ADMIN_ID + 1
ADMIN_IDS = (ADMIN_ID, SECOND_ADMIN_ID)


def invoice_of(chat: Chat, count: int = 1) -> dict:
    """The newest invoice the bot sent the seller (waiting for the ``count``-th)."""
    found = chat.tg.wait_for(lambda t: (i := [e for e in bot_messages(t) if e.get("invoice")]) and len(i) >= count
                             and i[-1], timeout=20, chat_id=chat.id)
    return found


def buy(chat: Chat, pack: str = "buy:5:50") -> dict:
    """/buy, press a pack: the invoice."""
    chat.command("buy")
    chat.wait_text(chat.t("buy.title", price=1))
    chat.press(callback_data=pack)
    return invoice_of(chat)


def bot_counter(stack, name: str, **labels: str) -> float:
    """A counter's value as the bot's metrics endpoint serves it."""
    body = httpx.get(f"http://127.0.0.1:{stack.env['NEUROCARDS_METRICS__BOT_PORT']}/metrics").text
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in body.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def paid(chat: Chat, charge_id: str) -> Payment:
    return wait_until(lambda: Payment.get_or_none(Payment.telegram_charge_id == charge_id), what="the payment")


def receipt(chat: Chat, stars: int, credits: int, balance: int) -> str:
    return chat.t("pay.receipt", stars=stars, credits=credits, balance=balance)


def test_buy_shows_the_packs_and_a_paid_invoice_credits_the_pack_once(bot):
    chat = Chat(bot)
    chat.start()
    chat.command("buy")
    packs = chat.wait_text(chat.t("buy.title", price=1))
    assert buttons(packs) == [(chat.t("buy.pack", credits=5, stars=50, per_video=10), "buy:5:50"),
                              (chat.t("buy.pack", credits=10, stars=90, per_video=9), "buy:10:90"),
                              (chat.t("buy.pack", credits=30, stars=240, per_video=8), "buy:30:240")]
    chat.press(callback_data="buy:10:90")
    invoice = invoice_of(chat)
    assert (invoice["invoice"]["currency"], invoice["invoice"]["total_amount"]) == ("XTR", 90)
    assert invoices.read(KEY, invoice["invoice"]["payload"]).user_id == chat.id

    outcome = chat.tg.pay(chat.id, invoice["message_id"])

    assert outcome["outcome"] == "paid"
    chat.wait_text(receipt(chat, stars=90, credits=10, balance=11))
    payment = paid(chat, outcome["telegram_payment_charge_id"])
    assert (payment.user_id, payment.stars, payment.credits, payment.status) == (chat.id, 90, 10, "paid")
    assert chat.balance() == 11
    assert audit()["ok"]


def test_a_payment_delivered_twice_credits_once_with_one_receipt(bot):
    chat = Chat(bot)
    chat.start()
    invoice = buy(chat)
    chat.tg.duplicate_next_payment(chat_id=chat.id)

    outcome = chat.tg.pay(chat.id, invoice["message_id"])

    assert len(outcome["update_ids"]) == 2
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=6))
    wait_until(lambda: bot_counter(bot, "neurocards_payments_total", outcome="duplicate") >= 1,
               what="the second delivery to be handled")
    receipts = [m for m in chat.messages() if m.get("text") == receipt(chat, stars=50, credits=5, balance=6)]
    assert len(receipts) == 1
    assert chat.balance() == 6
    assert LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "purchase")).count() == 1


def _send_invoice(chat: Chat, payload: str, stars: int = 50) -> dict:
    """An invoice with ``payload`` put in the seller's chat through the Bot API (a
    forwarded, stale or forged invoice)."""
    url = f"{chat.stack.telegram.url}/bot{SANDBOX_BOT_TOKEN}/sendInvoice"
    reply = httpx.post(url, json={"chat_id": chat.id, "title": "Credits", "description": "Credits",
                                  "payload": payload, "currency": "XTR", "provider_token": "",
                                  "prices": [{"label": "Credits", "amount": stars}]}).json()
    assert reply["ok"], reply
    return reply["result"]


@pytest.mark.parametrize("make_payload, reason", [
    (lambda chat: invoices.issue(KEY, user_id=chat.id + 1, credits=5, stars=50), "not_yours"),
    (lambda chat: invoices.issue(KEY, user_id=chat.id, credits=5, stars=50, now=time.time() - 86_400), "expired"),
    (lambda chat: invoices.issue(KEY, user_id=chat.id, credits=50, stars=50), "unknown_pack"),
    (lambda chat: invoices.issue(invoices.payload_key("1:another"), user_id=chat.id, credits=5, stars=50), "forged"),
    (lambda chat: "credits-for-free", "forged"),
])
def test_checkout_refuses_an_invoice_it_must_not_take_money_for(bot, make_payload, reason):
    chat = Chat(bot)
    chat.start()
    message = _send_invoice(chat, make_payload(chat))

    outcome = chat.tg.pay(chat.id, message["message_id"])

    assert (outcome["outcome"], outcome["error_message"]) == ("refused", chat.t(f"pay.refused.{reason}"))
    assert chat.balance() == 1
    assert Payment.select().where(Payment.user == chat.id).count() == 0


def test_a_wrong_amount_is_refused_at_checkout(bot):
    chat = Chat(bot)
    chat.start()
    message = _send_invoice(chat, invoices.issue(KEY, user_id=chat.id, credits=5, stars=50), stars=5)
    outcome = chat.tg.pay(chat.id, message["message_id"])
    assert (outcome["outcome"], outcome["error_message"]) == ("refused", chat.t("pay.refused.amount"))
    assert chat.balance() == 1


def test_a_pack_button_not_on_sale_is_refused_without_an_invoice(bot):
    chat = Chat(bot)
    chat.start()
    chat.command("buy")
    packs = chat.wait_text(chat.t("buy.title", price=1))
    answer = chat.wait_answer(chat.press(callback_data="buy:500:1", message_id=packs["message_id"])["callback_query_id"])
    assert answer["text"] == chat.t("pay.refused.unknown_pack")
    assert not [e for e in bot_messages(bot.tg.transcript(chat.id)) if e.get("invoice")]


def test_out_of_credits_the_photo_waits_and_the_payment_starts_it(bot):
    # Given a seller who spent their welcome credit
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Teapot")
    chat.wait_video()

    # When they send another photo: it is kept, and the packs are offered right there
    chat.photo(caption="Green kettle")
    offer = chat.wait_text(chat.t("no_credits.kept", balance=0, price=1, info="Green kettle", minutes=30))
    assert [data for _, data in buttons(offer)] == ["buy:5:50", "buy:10:90", "buy:30:240"]
    assert PendingRequest.get_by_id(chat.id).product_info == "Green kettle"

    # And once they pay, the video starts by itself, without the photo again
    chat.press(callback_data="buy:5:50", message_id=offer["message_id"])
    outcome = chat.tg.pay(chat.id, invoice_of(chat)["message_id"])
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=5) + "\n"
                   + chat.t("pay.receipt.continue", info="Green kettle"))
    chat.wait_video(count=2)
    jobs = chat.ended_jobs()
    assert [(job.product_info, job.status) for job in jobs] == [("Teapot", "done"), ("Green kettle", "done")]
    assert chat.balance() == 4
    assert PendingRequest.get_or_none(PendingRequest.user == chat.id) is None
    assert paid(chat, outcome["telegram_payment_charge_id"]).credits == 5
    assert audit()["ok"]


def test_generate_again_without_credits_waits_for_the_payment(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Lamp")
    chat.wait_video()
    [first] = chat.ended_jobs()
    chat.press(callback_data=f"job:again:{first.id}", message_id=first.video_message_id)
    offer = chat.wait_text(chat.t("no_credits.kept", balance=0, price=1, info="Lamp", minutes=30))
    chat.press(callback_data="buy:5:50", message_id=offer["message_id"])
    chat.tg.pay(chat.id, invoice_of(chat)["message_id"])
    chat.wait_video(count=2)
    second = chat.ended_jobs()[1]
    assert (second.parent_id, second.photo_path, second.status) == (first.id, first.photo_path, "done")
    assert chat.balance() == 4


def test_an_operator_refund_gives_the_stars_back_and_takes_the_credits_once(bot):
    chat, admin = Chat(bot), Chat(bot, user_id=ADMIN_ID)
    chat.start()
    outcome = chat.tg.pay(chat.id, buy(chat)["message_id"])
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=6))
    charge = outcome["telegram_payment_charge_id"]

    admin.command("refund", charge)
    admin.wait_text(f"Refunded ⭐50 to {chat.id}; 5 credits taken back, balance now 1.")
    assert [r["telegram_payment_charge_id"] for r in bot.tg.refunds()] == [charge]
    assert paid(chat, charge).status == "refunded"

    admin.command("refund", charge)
    refunded_at = paid(chat, charge).refunded_at
    admin.wait_text(f"Already refunded on {refunded_at:%Y-%m-%d %H:%M:%S}.")
    admin.command("refund", "stx-no-such-charge")
    admin.wait_text("No payment with charge id stx-no-such-charge.")
    assert chat.balance() == 1
    assert audit()["ok"]


def test_two_operators_refunding_one_charge_at_once_both_refused_never_mint_credits(bot):
    # Given a paid 5-credit pack, and Telegram refusing refunds, slowly (issue 25, hole 1)
    chat, admins = Chat(bot), [Chat(bot, user_id=ADMIN_ID), Chat(bot, user_id=SECOND_ADMIN_ID)]
    chat.start()
    charge = chat.tg.pay(chat.id, buy(chat)["message_id"])["telegram_payment_charge_id"]
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=6))
    refusal = "Bad Request: BOT_STARS_NOT_ENOUGH"
    bot.fault("telegram", "slow", count=2, params={"delay_s": 3}, match={"method": "refundStarPayment"})
    bot.fault("telegram", "bad_request", count=2, params={"description": refusal},
              match={"method": "refundStarPayment"})

    # When both operators /refund it at the same moment
    for admin in admins:
        admin.command("refund", charge)

    # Then one refund runs and is refused, the other is told it is under way
    refused = f"Telegram refused the refund: {refusal}. Credits left as they were."
    answers = [admin.tg.wait_for(lambda t: [e["text"] for e in bot_messages(t)
                                            if e.get("text", "").startswith(("Telegram refused", "A refund of"))],
                                 timeout=20, chat_id=admin.id)[0] for admin in admins]
    assert sorted(answer.split(" (since")[0] for answer in answers) == [
        "A refund of this payment is already under way", refused]
    assert bot.calls("telegram").get("refundStarPayment") == 1
    # and the seller has what they paid for, once: no pack minted
    assert chat.balance() == 6
    assert paid(chat, charge).status == "paid" and paid(chat, charge).refund_claim == ""
    assert audit()["ok"], audit()["problems"]

    # When Telegram takes the refund at the next try, it goes through: the credits are taken back once
    bot.reset_sandbox()
    admins[0].command("refund", charge)
    admins[0].wait_text(f"Refunded ⭐50 to {chat.id}; 5 credits taken back, balance now 1.")
    assert audit()["ok"], audit()["problems"]


def test_a_refund_of_credits_already_spent_is_refused(bot):
    chat, admin = Chat(bot), Chat(bot, user_id=ADMIN_ID)
    chat.start()
    outcome = chat.tg.pay(chat.id, buy(chat)["message_id"])
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=6))
    from neurocards.money import credits

    credits.grant(chat.id, -5, reason="spent on videos (test)")
    admin.command("refund", outcome["telegram_payment_charge_id"])
    admin.wait_text(f"Refused: seller {chat.id} has 1 credits left of the 5 this payment bought; "
                    "a refund would take them below zero.")
    assert bot.tg.refunds() == [] or all(r["user_id"] != chat.id for r in bot.tg.refunds())
    assert chat.balance() == 1


def test_paysupport_and_terms_answer(bot):
    chat = Chat(bot)
    chat.start()
    chat.command("paysupport")
    chat.wait_text(chat.t("paysupport", support="@neurocards_support").replace("<b>", "").replace("</b>", ""))
    chat.command("terms")
    chat.wait_text(chat.t("terms", price=1, support="@neurocards_support").replace("<b>", "").replace("</b>", ""))


def test_a_refund_made_at_telegram_is_settled_and_audit_payments_finds_what_differs(bot):
    # Given a paid invoice refunded at Telegram, not through us: the bot hears of it and settles it
    chat = Chat(bot)
    chat.start()
    charge = chat.tg.pay(chat.id, buy(chat)["message_id"])["telegram_payment_charge_id"]
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=6))
    reply = httpx.post(f"{chat.stack.telegram.url}/bot{SANDBOX_BOT_TOKEN}/refundStarPayment",
                       json={"user_id": chat.id, "telegram_payment_charge_id": charge}).json()
    assert reply["ok"], reply
    wait_until(lambda: Payment.get(Payment.telegram_charge_id == charge).status == "refunded",
               what="the refund reported by Telegram to be settled")
    assert chat.balance() == 1

    # And a payment recorded that Telegram never charged (as a forged update would leave)
    from neurocards.money import payments

    payments.record_payment(user_id=chat.id, charge_id="stx-never-charged", provider_charge_id="",
                            payload="forged", currency="XTR", stars=240, invoice=None)

    # When the operator reconciles, that one is listed and the audit fails
    result = run_cli("audit", "--payments", env=bot.env)
    assert result.returncode == 1, result.stderr
    mismatches = json.loads(result.stdout)["payments"]
    assert [(m["kind"], m["charge_id"], m["stars"]) for m in mismatches] == [
        ("credit_without_charge", "stx-never-charged", 240)]
