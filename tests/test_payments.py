"""Money in, below the bot: invoice payloads, payments credited once, refunds
that take back exactly what was bought, requests kept for a top-up — on both
databases, with real concurrency."""

import multiprocessing
import threading

import pytest

from neurocards.db import database
from neurocards.models import LedgerEntry, Payment, PendingRequest, User
from neurocards.money import credits, invoices, payments, pending
from neurocards.money.audit import audit
from neurocards.users import register
from tests.credit_race import pay_in_process

KEY = invoices.payload_key("123456789:test-token-for-invoice-payloads")
ON_SALE = {(5, 50), (10, 90)}.__contains__


def on_sale(invoice):
    return not invoice.subscription and ON_SALE((invoice.credits, invoice.stars))


# -- payloads ----------------------------------------------------------------------------------------


def test_a_payload_names_the_seller_and_pack_and_fits_telegrams_limit():
    payload = invoices.issue(KEY, user_id=8_000_000_001, credits=30, stars=240, now=1_764_000_000)
    invoice = invoices.read(KEY, payload)
    assert (invoice.user_id, invoice.credits, invoice.stars, invoice.created) == (8_000_000_001, 30, 240, 1_764_000_000)
    assert len(payload.encode()) <= 128
    assert invoices.issue(KEY, user_id=1, credits=5, stars=50) != invoices.issue(KEY, user_id=1, credits=5, stars=50)


@pytest.mark.parametrize("tamper, reason", [
    (lambda p: p.replace(".5.50.", ".50.50."), "forged"),  # more credits for the same Stars
    (lambda p: p[:-1] + ("0" if p[-1] != "0" else "1"), "forged"),  # a MAC that doesn't match
    (lambda p: "p1.1.5.50", "forged"),  # too few parts
    (lambda p: "", "forged"),
    (lambda p: invoices.issue(invoices.payload_key("another-bot:token"), user_id=1, credits=5, stars=50), "forged"),
])
def test_a_payload_changed_by_anyone_but_us_is_forged(tamper, reason):
    payload = tamper(invoices.issue(KEY, user_id=1, credits=5, stars=50))
    with pytest.raises(invoices.InvoiceRefused) as refused:
        invoices.check(KEY, payload, payer_id=1, currency="XTR", total_amount=50, on_sale=on_sale, ttl_s=60)
    assert refused.value.reason == reason


@pytest.mark.parametrize("payer, currency, amount, pack, age_s, reason", [
    (2, "XTR", 50, (5, 50), 0, "not_yours"),
    (1, "USD", 50, (5, 50), 0, "amount"),
    (1, "XTR", 49, (5, 50), 0, "amount"),
    (1, "XTR", 40, (5, 40), 0, "unknown_pack"),
    (1, "XTR", 50, (5, 50), 61, "expired"),
])
def test_checkout_refuses_what_it_must(payer, currency, amount, pack, age_s, reason):
    payload = invoices.issue(KEY, user_id=1, credits=pack[0], stars=pack[1], now=1000)
    with pytest.raises(invoices.InvoiceRefused) as refused:
        invoices.check(KEY, payload, payer_id=payer, currency=currency, total_amount=amount, on_sale=on_sale,
                       ttl_s=60, now=1000 + age_s)
    assert refused.value.reason == reason


def test_checkout_accepts_the_sellers_own_fresh_invoice():
    payload = invoices.issue(KEY, user_id=1, credits=10, stars=90, now=1000)
    invoice = invoices.check(KEY, payload, payer_id=1, currency="XTR", total_amount=90, on_sale=on_sale, ttl_s=60,
                             now=1059)
    assert (invoice.credits, invoice.stars) == (10, 90)


# -- recording a payment -------------------------------------------------------------------------------


def seller(user_id=1, balance=0):
    user, _ = register(user_id, "en", welcome_credits=balance)
    return user


def pay(user_id=1, charge="stxA", credits_=5, stars=50, matched=True):
    payload = invoices.issue(KEY, user_id=user_id, credits=credits_, stars=stars)
    invoice = invoices.read(KEY, payload) if matched else None
    return payments.record_payment(user_id=user_id, charge_id=charge, provider_charge_id="p1", payload=payload,
                                   currency="XTR", stars=stars, invoice=invoice)


def test_a_payment_credits_its_pack_once_however_often_it_is_reported(database_url):
    seller(balance=1)
    first, second = pay(), pay()
    assert (first.created, second.created) == (True, False)
    assert second.payment.id == first.payment.id
    assert User.get_by_id(1).balance == 6
    assert LedgerEntry.select().where(LedgerEntry.kind == "purchase").count() == 1
    assert payments.claim_receipt(first.payment.id) and not payments.claim_receipt(first.payment.id)
    assert audit()["ok"]


def test_an_unmatched_payment_is_kept_and_credits_nothing(database_url):
    seller()
    recorded = pay(matched=False)
    assert (recorded.payment.status, recorded.payment.credits) == ("unmatched", 0)
    assert User.get_by_id(1).balance == 0
    assert audit()["ok"]


def test_eight_threads_reporting_one_payment_credit_it_once(database_url):
    seller()
    payload = invoices.issue(KEY, user_id=1, credits=5, stars=50)
    invoice = invoices.read(KEY, payload)
    barrier, outcomes = threading.Barrier(8), []

    def report():
        barrier.wait()
        try:
            outcomes.append(payments.record_payment(user_id=1, charge_id="stxRace", provider_charge_id="",
                                                    payload=payload, currency="XTR", stars=50,
                                                    invoice=invoice).created)
        finally:
            database.close()

    threads = [threading.Thread(target=report) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == [False] * 7 + [True]
    assert User.get_by_id(1).balance == 5
    assert audit()["ok"]


def test_two_bot_processes_handling_one_payment_credit_it_once(database_url):
    # Given a seller, and one payment reported to two bot instances at once
    seller()
    database.close()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=pay_in_process,
                                 args=(database_url, 1, "stxTwice", "payload", 5, 50, barrier, results))
                 for _ in range(2)]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=60)[0] for _ in processes)
    for process in processes:
        process.join(30)

    # Then one records it and the other replays it: one purchase
    assert outcomes == ["recorded", "replayed"]
    assert User.get_by_id(1).balance == 5
    assert Payment.select().count() == 1
    assert audit()["ok"]


# -- refunds ------------------------------------------------------------------------------------------


def test_a_refund_takes_back_exactly_what_was_bought(database_url):
    seller(balance=2)
    payment = pay().payment
    taken = payments.take_back(payment, "test")
    again = payments.take_back(payment, "test")  # Telegram's refunded_payment racing the operator
    assert taken.created and not again.created
    assert payments.mark_refunded("stxA") and not payments.mark_refunded("stxA")
    assert User.get_by_id(1).balance == 2
    assert audit()["ok"]


def test_a_refund_refused_by_telegram_gives_the_credits_back_and_can_be_tried_again(database_url):
    seller()
    payment = pay().payment
    taken = payments.take_back(payment, "first try")
    payments.give_back(taken, "Telegram refused")
    assert User.get_by_id(1).balance == 5
    assert audit()["ok"]  # a paid payment, nothing taken back
    payments.take_back(payment, "second try")
    payments.mark_refunded("stxA")
    assert User.get_by_id(1).balance == 0
    assert audit()["ok"]


def test_two_refunds_of_one_charge_both_refused_give_back_once(database_url):
    # Given a 5-credit purchase on top of 5 credits (issue 25, hole 1)
    seller(balance=5)
    payment = pay().payment
    # When two refunds of it interleave: both take back (the second a replay), Telegram refuses both
    first = payments.take_back(payment, "operator A")
    second = payments.take_back(payment, "operator B")
    voids = [payments.give_back(first, "A: Telegram refused"), payments.give_back(second, "B: Telegram refused")]
    # Then the credits came back once: one void, keyed by the take-back it voids
    assert (first.created, second.created) == (True, False)
    assert [void.created for void in voids] == [True, False]
    assert User.get_by_id(1).balance == 10
    assert LedgerEntry.select().where(LedgerEntry.key.startswith("purchase_refund_void:stxA:")).count() == 1
    assert audit()["ok"], audit()["problems"]


def test_one_refund_of_a_charge_is_under_way_at_a_time(database_url):
    seller()
    payment = pay().payment
    assert payments.claim_refund(payment.id, "operator A")
    assert not payments.claim_refund(payment.id, "operator B")  # A's refund is under way
    assert payments.claim_refund(payment.id, "operator A")  # ... its holder keeps it
    payments.release_refund(payment.id, "operator B")  # only the holder gives it back
    assert not payments.claim_refund(payment.id, "operator B")
    payments.release_refund(payment.id, "operator A")
    assert payments.claim_refund(payment.id, "operator B")
    # a holder that died: its claim expires
    assert payments.claim_refund(payment.id, "operator C", hold_s=0)
    payments.mark_refunded("stxA")
    payments.release_refund(payment.id, "operator C")
    assert not payments.claim_refund(payment.id, "operator D")  # refunded: nothing left to refund


def test_two_threads_refunding_one_charge_at_once_one_claims_it(database_url):
    seller()
    payment = pay().payment
    barrier, won = threading.Barrier(8), []

    def claim(n: int) -> None:
        barrier.wait()
        if payments.claim_refund(payment.id, f"instance {n}"):
            won.append(n)
        database.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_the_audit_sees_a_void_without_its_take_back(database_url):
    seller()
    pay()
    credits.move(1, 5, credits.LedgerKind.PURCHASE_REFUND, "purchase_refund_void:stxA:0", reason="forged")
    assert [p["problem"] for p in audit()["problems"]] == ["void_without_take_back", "refund_mismatch"]


def test_the_audit_sees_a_paid_charge_never_credited(database_url):
    seller()
    pay()
    LedgerEntry.delete().where(LedgerEntry.key == "purchase:stxA").execute()
    User.update(balance=0).where(User.id == 1).execute()
    assert [p["problem"] for p in audit()["problems"]] == ["charge_never_credited"]


def test_a_payment_the_reconciler_recovered_is_counted_by_the_audit(database_url):
    seller()
    payload = invoices.issue(KEY, user_id=1, credits=5, stars=50)
    recorded = payments.record_payment(user_id=1, charge_id="stxR", provider_charge_id="", payload=payload,
                                       currency="XTR", stars=50, invoice=invoices.read(KEY, payload), recovered=True)
    assert recorded.payment.recovered_at is not None
    report = audit()
    assert report["ok"] and report["checked"]["payments_recovered"] == 1


def test_a_refund_never_takes_a_balance_below_zero(database_url):
    seller()
    payment = pay().payment
    credits.grant(1, -4, reason="spent")
    with pytest.raises(credits.InsufficientCredits):
        payments.take_back(payment, "test")
    assert User.get_by_id(1).balance == 1


def test_the_audit_sees_a_refund_that_took_nothing_back(database_url):
    seller()
    pay()
    payments.mark_refunded("stxA")
    assert [p["problem"] for p in audit()["problems"]] == ["refund_mismatch"]


# -- requests kept for a top-up ----------------------------------------------------------------------


def test_a_kept_request_is_taken_once_and_the_latest_wins(database_url):
    seller()
    pending.keep(user_id=1, chat_id=1, product_info="mug", ttl_s=60, photo_path="/nonexistent/a.jpg")
    pending.keep(user_id=1, chat_id=1, product_info="kettle", ttl_s=60, photo_path="/nonexistent/b.jpg")
    taken = pending.take(1)
    assert taken.product_info == "kettle"
    assert pending.take(1) is None
    assert PendingRequest.select().count() == 0


def test_an_expired_request_is_not_started(database_url):
    seller()
    pending.keep(user_id=1, chat_id=1, product_info="mug", ttl_s=-1)
    assert pending.take(1) is None


# -- reconciling with Telegram's Star transactions -------------------------------------------------


def test_reconciliation_finds_each_kind_of_disagreement():
    from aiogram.types import StarTransaction, TransactionPartnerUser
    from aiogram.types import User as TelegramUser

    from neurocards.models import Payment
    from neurocards.money.reconcile import compare

    def user(user_id):
        return TransactionPartnerUser(transaction_type="invoice_payment", user=TelegramUser(id=user_id, is_bot=False,
                                                                                           first_name="S"))

    def paid(charge, user_id, stars):
        return StarTransaction(id=charge, amount=stars, date=1, source=user(user_id))

    def refund(charge, user_id, stars):
        return StarTransaction(id=charge, amount=stars, date=2, receiver=user(user_id))

    telegram = [paid("ok", 1, 50), paid("refunded-both", 1, 50), refund("refunded-both", 1, 50),
                paid("ours-missing", 2, 90), paid("refunded-there", 3, 50), refund("refunded-there", 3, 50),
                paid("refunded-here", 4, 50)]
    ours = [Payment(telegram_charge_id=c, user_id=u, stars=s, credits=5, status=st) for c, u, s, st in [
        ("ok", 1, 50, "paid"), ("refunded-both", 1, 50, "refunded"), ("refunded-there", 3, 50, "paid"),
        ("refunded-here", 4, 50, "refunded"), ("never-charged", 5, 240, "paid")]]
    found = sorted((m.kind, m.charge_id, m.user_id, m.stars) for m in compare(telegram, ours))
    assert found == [("charge_not_credited", "ours-missing", 2, 90),
                     ("credit_without_charge", "never-charged", 5, 240),
                     ("refund_only_at_telegram", "refunded-there", 3, 50),
                     ("refund_only_here", "refunded-here", 4, 50)]
