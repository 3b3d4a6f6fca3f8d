"""Stars subscriptions below the bot (issue 22): each month of the plan credited
once, keyed by its charge; a month's unused plan credits expiring when the next
begins (or rolling over), bought credits never; a renewal of a plan cancelled
with us, or of no plan of ours, crediting nothing; a month with no renewal
ending once, however many sweeps race.  On both databases, the audit after each."""

from __future__ import annotations

import datetime as dt

import pytest

from neurocards.models import Job, LedgerEntry, LedgerKind, Payment, Subscription, User, utcnow
from neurocards.money import credits, invoices, payments, subscriptions
from neurocards.money.audit import audit
from neurocards.settings import SANDBOX_BOT_TOKEN
from neurocards.stats import stats
from neurocards.users import register
from tests.races import at_once

KEY = invoices.payload_key(SANDBOX_BOT_TOKEN)
SELLER = 7
MONTH = dt.timedelta(days=30)


@pytest.fixture
def seller(database_url):
    register(SELLER, "en", welcome_credits=0)
    return SELLER


def plan_payload(user_id: int = SELLER, credits_: int = 30, stars: int = 220) -> str:
    return invoices.issue(KEY, user_id=user_id, credits=credits_, stars=stars, subscription=True)


def month(payload: str, charge: str, *, first: bool, ends: dt.datetime, rollover: bool = False,
          user_id: int = SELLER) -> payments.Recorded:
    """A month's successful_payment recorded as the bot records it."""
    invoice = invoices.check(KEY, payload, payer_id=user_id, currency="XTR", total_amount=220, recurring=True)
    return payments.record_payment(user_id=user_id, charge_id=charge, provider_charge_id="", payload=payload,
                                   currency="XTR", stars=220, invoice=invoice,
                                   month=subscriptions.Month(ends, first=first), rollover=rollover)


def buy_pack(charge: str, user_id: int = SELLER) -> None:
    """10 credits bought in a pack (a payment of its own)."""
    payload = invoices.issue(KEY, user_id=user_id, credits=10, stars=90)
    payments.record_payment(user_id=user_id, charge_id=charge, provider_charge_id="", payload=payload,
                            currency="XTR", stars=90, invoice=invoices.read(KEY, payload))


def spend(user_id: int, amount: int) -> None:
    credits.move(user_id, -amount, LedgerKind.DEBIT, f"debit:test-{utcnow().timestamp()}-{amount}")


def balance(user_id: int = SELLER) -> int:
    return User.get_by_id(user_id).balance


def test_the_first_month_makes_the_plan_and_is_credited_once(seller):
    payload, ends = plan_payload(), utcnow() + MONTH
    first, replay = month(payload, "m1", first=True, ends=ends), month(payload, "m1", first=True, ends=ends)

    assert (first.created, replay.created) == (True, False)
    plan = Subscription.get(Subscription.user == seller)
    assert (plan.status, plan.credits, plan.stars, plan.months, plan.first_charge_id) == ("active", 30, 220, 1, "m1")
    assert abs((plan.period_end - ends).total_seconds()) < 1
    assert first.payment.subscription_id == plan.id and balance() == 30
    [entry] = LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.SUBSCRIPTION)
    assert (entry.key, entry.amount) == ("subscription:m1", 30)
    assert stats()["subscriptions"] == {"active": 1, "cancelled": 0, "ended": 0, "months_paid": 1, "stars": 220}
    assert audit()["ok"]


def test_a_renewal_expires_last_months_unused_plan_credits_never_bought_ones(seller):
    # Given a plan's first month, 12 of its 30 credits spent, and a pack bought besides
    payload, start = plan_payload(), utcnow()
    month(payload, "m1", first=True, ends=start + MONTH)
    spend(seller, 12)
    buy_pack("pack-charge")

    # When the next month is paid
    renewal = month(payload, "m2", first=False, ends=start + 2 * MONTH)

    # Then the 18 unused plan credits expired, the pack's 10 stayed, the new month came
    assert subscriptions.expired_with("m2") == 18
    assert balance() == 10 + 30
    plan = Subscription.get_by_id(renewal.payment.subscription_id)
    assert plan.months == 2 and abs((plan.period_end - (start + 2 * MONTH)).total_seconds()) < 1
    assert audit()["ok"]


def test_with_rollover_nothing_expires(seller):
    payload, start = plan_payload(), utcnow()
    month(payload, "m1", first=True, ends=start + MONTH, rollover=True)
    month(payload, "m2", first=False, ends=start + 2 * MONTH, rollover=True)
    assert balance() == 60 and subscriptions.expired_with("m2") == 0
    assert audit()["ok"]


def test_a_renewal_of_a_plan_cancelled_with_us_credits_nothing(seller):
    payload, start = plan_payload(), utcnow()
    first = month(payload, "m1", first=True, ends=start + MONTH)
    assert subscriptions.cancel(first.payment.subscription_id, seller)
    assert not subscriptions.cancel(first.payment.subscription_id, seller)  # once

    late = month(payload, "m2", first=False, ends=start + 2 * MONTH)

    assert late.created and (late.payment.status, late.payment.credits) == ("unmatched", 0)
    assert late.payment.subscription_id is None and balance() == 30
    assert Subscription.get_by_id(first.payment.subscription_id).months == 1
    assert audit()["ok"]


def test_a_renewal_whose_first_month_was_never_recorded_starts_the_plan(seller):
    # (the first month's update lost: Telegram delivers it once; the payload is one we signed)
    renewal = month(plan_payload(), "m2", first=False, ends=utcnow() + MONTH)
    plan = Subscription.get(Subscription.user == seller)
    assert (plan.first_charge_id, plan.months, renewal.payment.subscription_id, balance()) == ("m2", 1, plan.id, 30)
    assert audit()["ok"]


def test_a_month_whose_payload_we_never_signed_credits_nothing(seller):
    forged = payments.record_payment(user_id=seller, charge_id="m9", provider_charge_id="", payload="s1.forged",
                                     currency="XTR", stars=220, invoice=None,
                                     month=subscriptions.Month(utcnow() + MONTH, first=True))
    assert (forged.payment.status, balance(), Subscription.select().count()) == ("unmatched", 0, 0)
    assert audit()["ok"]


def test_someone_elses_plan_is_not_theirs_to_cancel_or_resume(seller):
    register(8, "en", welcome_credits=0)
    first = month(plan_payload(), "m1", first=True, ends=utcnow() + MONTH)
    plan_id = first.payment.subscription_id
    assert not subscriptions.cancel(plan_id, 8) and not subscriptions.resume(plan_id, 8)
    assert subscriptions.cancel(plan_id, seller) and subscriptions.resume(plan_id, seller)
    assert Subscription.get_by_id(plan_id).status == "active"


def test_a_month_with_no_renewal_ends_once_its_unused_credits_expiring(seller):
    # Given a month that ended two days ago, 5 of its credits spent
    payload, start = plan_payload(), utcnow() - MONTH - dt.timedelta(days=2)
    first = month(payload, "m1", first=True, ends=start + MONTH)
    spend(seller, 5)

    # When three bot instances sweep at the same moment
    ended = at_once([lambda: subscriptions.end_lapsed(grace_s=86_400, rollover=False)] * 3)

    # Then it ended once, its 25 unused credits gone once
    assert sorted(ended) == [0, 0, 1]
    plan = Subscription.get_by_id(first.payment.subscription_id)
    assert plan.status == "ended" and plan.ended_at is not None
    assert balance() == 0 and subscriptions.current(seller) is None
    assert LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.SUBSCRIPTION_EXPIRY).count() == 1
    assert audit()["ok"]


def test_a_month_within_its_grace_is_not_ended(seller):
    month(plan_payload(), "m1", first=True, ends=utcnow() - dt.timedelta(hours=1))
    assert subscriptions.end_lapsed(grace_s=86_400, rollover=False) == 0
    assert subscriptions.current(seller).status == "active"


def test_a_late_renewal_of_an_ended_plan_revives_it_without_expiring_twice(seller):
    # Given a plan ended by the sweep (its unused 30 expired), and a pack bought since
    payload, start = plan_payload(), utcnow() - MONTH - dt.timedelta(days=2)
    first = month(payload, "m1", first=True, ends=start + MONTH)
    subscriptions.end_lapsed(grace_s=0, rollover=False)
    buy_pack("pack-charge")

    # When Telegram's renewal comes after all
    month(payload, "m2", first=False, ends=start + 2 * MONTH)

    # Then the plan runs again with the new month, and nothing more expired
    plan = Subscription.get_by_id(first.payment.subscription_id)
    assert (plan.status, plan.months, plan.ended_at) == ("active", 2, None)
    assert balance() == 10 + 30 and subscriptions.expired_with("m2") == 0
    assert audit()["ok"]


def test_a_pack_payload_is_never_a_month_nor_a_plan_payload_a_pack():
    pack = invoices.issue(KEY, user_id=1, credits=5, stars=50)
    plan = plan_payload(user_id=1)
    for payload, recurring in ((pack, True), (plan, False)):
        with pytest.raises(invoices.InvoiceRefused) as refused:
            invoices.check(KEY, payload, payer_id=1, currency="XTR", total_amount=invoices.read(KEY, payload).stars,
                           recurring=recurring)
        assert refused.value.reason == "kind"
    forged = plan.replace(".30.220.", ".300.220.")
    with pytest.raises(invoices.InvoiceRefused) as refused:
        invoices.read(KEY, forged)
    assert refused.value.reason == "forged"


def test_the_audit_finds_a_month_credited_after_the_seller_cancelled(seller):
    payload, start = plan_payload(), utcnow()
    first = month(payload, "m1", first=True, ends=start + MONTH)
    subscriptions.cancel(first.payment.subscription_id, seller)
    # a month written around the rules: credited although the plan was cancelled
    Payment.create(user=seller, telegram_charge_id="m2", invoice_payload=payload, currency="XTR", stars=220,
                   credits=30, subscription_id=first.payment.subscription_id)
    credits.move(seller, 30, LedgerKind.SUBSCRIPTION, subscriptions.month_key("m2"),
                 reason=f"subscription {first.payment.subscription_id}")

    problems = {problem["problem"] for problem in audit()["problems"]}

    assert problems == {"subscription_credited_after_cancel", "subscription_months_mismatch"}


def test_a_refunded_month_expires_nothing_bought(seller):
    # Given 50 bought credits and a month of the plan whose Stars an operator gave back
    buy_pack("pack-1"), buy_pack("pack-2"), buy_pack("pack-3"), buy_pack("pack-4"), buy_pack("pack-5")
    payload, start = plan_payload(), utcnow() - MONTH - dt.timedelta(days=2)
    first = month(payload, "m1", first=True, ends=start + MONTH)
    payments.take_back(first.payment, reason="operator refund")
    payments.mark_refunded("m1")

    # When the month ends with no renewal
    subscriptions.end_lapsed(grace_s=0, rollover=False)

    # Then the 50 bought credits are all there
    assert balance() == 50 and subscriptions.expired_with("m1") == 0
    assert audit()["ok"]


def test_an_older_jobs_refund_after_the_month_began_expires_nothing_bought(seller):
    # Given 20 bought credits, a job debited 10 before the month, refunded after it began
    buy_pack("pack-1"), buy_pack("pack-2")
    job = Job.create(user=seller, chat_id=seller)
    credits.debit_job(job, 10)
    payload, start = plan_payload(), utcnow()
    month(payload, "m1", first=True, ends=start + MONTH)
    credits.refund_job(job)
    spend(seller, 30)  # the month's 30, spent

    # When the next month is paid
    month(payload, "m2", first=False, ends=start + 2 * MONTH)

    # Then nothing of last month was left to expire: the 20 bought credits stay
    assert subscriptions.expired_with("m2") == 0 and balance() == 20 + 30


def test_a_renewal_of_a_plan_cancelled_and_since_ended_credits_nothing(seller):
    payload, start = plan_payload(), utcnow() - MONTH - dt.timedelta(days=2)
    first = month(payload, "m1", first=True, ends=start + MONTH)
    subscriptions.cancel(first.payment.subscription_id, seller)
    subscriptions.end_lapsed(grace_s=0, rollover=False)
    late = month(payload, "m2", first=False, ends=start + 2 * MONTH)
    assert late.payment.status == "unmatched" and Subscription.get_by_id(first.payment.subscription_id).months == 1
    assert audit()["ok"]
