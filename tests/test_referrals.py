"""Referrals below the bot (issue 22): an invited seller's first purchase earns
the inviter one bonus, in the payment's own transaction — never for a sign-up,
oneself, a seller who existed, a second purchase or a replayed one; at most
the month's cap, under races; taken back when that purchase's Stars go back.
On both databases, with the audit checking bonuses against first purchases."""

from __future__ import annotations

import datetime as dt

import pytest

from neurocards.models import LedgerEntry, LedgerKind, Payment, User, utcnow
from neurocards.money import credits, invoices, payments, referrals
from neurocards.money.audit import audit
from neurocards.settings import SANDBOX_BOT_TOKEN
from neurocards.settings.money import ReferralSettings
from neurocards.stats import stats
from neurocards.users import register
from tests.races import at_once

KEY = invoices.payload_key(SANDBOX_BOT_TOKEN)
TERMS = ReferralSettings(bonus=3, max_per_month=2)
INVITER = 500


def seller(user_id: int) -> int:
    register(user_id, "en", welcome_credits=0)
    return user_id


def invited(user_id: int, inviter: int = INVITER) -> int:
    """A seller who came by ``inviter``'s link (registered by that /start)."""
    attached = referrals.attach(seller(user_id), referrals.code_of(inviter), registered_now=True)
    assert attached == referrals.Attached("attached", inviter)
    return user_id


def pay(user_id: int, charge: str, credits_: int = 5, stars: int = 50, terms=TERMS) -> payments.Recorded:
    payload = invoices.issue(KEY, user_id=user_id, credits=credits_, stars=stars)
    return payments.record_payment(user_id=user_id, charge_id=charge, provider_charge_id="p", payload=payload,
                                   currency="XTR", stars=stars, invoice=invoices.read(KEY, payload), referral=terms)


def bonuses(user_id: int = INVITER) -> list[LedgerEntry]:
    return list(LedgerEntry.select().where((LedgerEntry.user == user_id) & (LedgerEntry.kind == LedgerKind.REFERRAL)))


@pytest.fixture
def inviter(database_url):
    return seller(INVITER)


def test_the_first_purchase_of_an_invited_seller_earns_the_inviter_one_bonus(inviter):
    # Given a seller who came by the inviter's link: the sign-up alone gives nothing
    buyer = invited(1)
    assert User.get_by_id(buyer).referred_by == inviter and User.get_by_id(inviter).balance == 0

    # When they buy, the update comes twice, and they buy again
    first, replay, second = pay(buyer, "ch1"), pay(buyer, "ch1"), pay(buyer, "ch2")

    # Then the inviter got one bonus, with the first purchase, keyed by the invited seller
    assert first.bonus is not None and first.bonus.created
    assert (replay.created, replay.bonus, second.bonus) == (False, None, None)
    [bonus] = bonuses()
    assert (bonus.key, bonus.amount, bonus.reason) == (f"referral:{buyer}", 3, "ch1")
    assert User.get_by_id(inviter).balance == 3 and User.get_by_id(buyer).balance == 10
    assert referrals.summary(inviter) == referrals.Summary(joined=1, bonuses=1, credits=3, this_month=1)
    assert stats()["referrals"] == {"joined": 1, "bonuses": 1, "inviters": 1}
    assert stats()["credits"]["referral"] == 3
    assert audit()["ok"]


def test_a_code_is_made_once_per_seller_and_names_them(inviter):
    code = referrals.code_of(inviter)
    assert referrals.CODE.match(code) and referrals.code_of(inviter) == code
    assert referrals.code_of(seller(2)) != code
    assert referrals.parse(f"ref_{code.upper()}") == code and referrals.parse("hello") is None


@pytest.mark.parametrize("case", ["self", "existing", "unknown", "garbage"])
def test_a_link_to_oneself_for_an_existing_seller_or_to_no_one_attaches_nothing(inviter, case):
    code = {"self": referrals.code_of(inviter), "existing": referrals.code_of(inviter),
            "unknown": "zzzzzzzz", "garbage": "'; drop table users; --"}[case]
    user_id = inviter if case == "self" else seller(7)
    attached = referrals.attach(user_id, code, registered_now=case != "existing")
    assert attached.reason == {"garbage": "unknown"}.get(case, case)
    pay(user_id, "ch-self")
    assert User.get_by_id(user_id).referred_by is None and bonuses() == []
    assert audit()["ok"]


def test_a_seller_is_attached_to_their_first_inviter_only(inviter):
    buyer = invited(1)
    other = seller(600)
    assert referrals.attach(buyer, referrals.code_of(other), registered_now=True).reason == "existing"
    assert User.get_by_id(buyer).referred_by == inviter


def test_no_bonus_when_it_is_off_and_none_for_a_purchase_after_the_first(inviter):
    buyer = invited(1)
    pay(buyer, "ch1", terms=ReferralSettings(bonus=0))
    pay(buyer, "ch2")  # not the first purchase any more
    assert bonuses() == [] and audit()["ok"]


def test_an_inviter_gets_at_most_the_months_cap_and_last_months_do_not_count(inviter):
    # Given two bonuses given last month
    for user_id, charge in ((1, "old1"), (2, "old2")):
        pay(invited(user_id), charge)
    last_month = referrals.month_start(utcnow()) - dt.timedelta(days=3)
    LedgerEntry.update(created_at=last_month).where(LedgerEntry.kind == LedgerKind.REFERRAL).execute()

    # When three more invited sellers buy this month (the cap is 2)
    outcomes = [pay(invited(user_id), f"new{user_id}").bonus for user_id in (3, 4, 5)]

    # Then the first two earned a bonus, the third nothing
    assert [outcome is not None for outcome in outcomes] == [True, True, False]
    assert len(bonuses()) == 4 and User.get_by_id(inviter).balance == 12
    assert referrals.summary(inviter).this_month == 2
    assert audit()["ok"]


def test_two_invited_sellers_paying_at_once_for_the_months_last_bonus_one_wins(inviter):
    # Given an inviter with one bonus left this month
    pay(invited(1), "first")
    racers = [invited(user_id) for user_id in (2, 3, 4)]

    # When three of their invited sellers pay at the same moment
    outcomes = at_once([lambda user_id=user_id: pay(user_id, f"race{user_id}") for user_id in racers])

    # Then every purchase was credited, and exactly one earned the last bonus
    assert all(outcome.created for outcome in outcomes)
    assert sum(outcome.bonus is not None for outcome in outcomes) == 1
    assert len(bonuses()) == 2 and User.get_by_id(inviter).balance == 6
    assert audit()["ok"]


def test_a_refunded_first_purchase_takes_the_bonus_back_once(inviter):
    buyer = invited(1)
    recorded = pay(buyer, "ch1")
    payments.take_back(recorded.payment, reason="test")
    payments.mark_refunded("ch1")

    undone, again = referrals.take_back_bonus("ch1"), referrals.take_back_bonus("ch1")

    assert undone.created and not again.created and undone.amount == -3
    assert User.get_by_id(inviter).balance == 0
    assert referrals.summary(inviter).credits == 0
    assert referrals.take_back_bonus("a charge with no bonus") is None
    assert audit()["ok"]


def test_a_bonus_spent_before_its_purchase_was_refunded_stays_and_the_audit_says_so(inviter):
    buyer = invited(1)
    pay(buyer, "ch1")
    credits.grant(inviter, -3, reason="spent on a video")
    payments.take_back(payments.find("ch1"), reason="test")
    payments.mark_refunded("ch1")

    assert referrals.take_back_bonus("ch1") is None
    problems = audit()["problems"]
    assert problems == [{"problem": "referral_bonus_of_refunded_purchase", "invited": str(buyer), "user": inviter,
                         "charge": "ch1"}]


def test_the_audit_finds_a_bonus_that_is_not_for_an_invited_sellers_first_purchase(inviter):
    # Given bonuses written around the rules: to someone who invited no one, and for a second purchase
    stranger, buyer = seller(2), invited(3)
    pay(buyer, "ch1", terms=None)
    pay(buyer, "ch2", terms=None)
    Payment.update(created_at=utcnow() + dt.timedelta(hours=1)).where(Payment.telegram_charge_id == "ch2").execute()
    credits.move(inviter, 3, LedgerKind.REFERRAL, referrals.bonus_key(stranger), reason="ch0")
    credits.move(inviter, 3, LedgerKind.REFERRAL, referrals.bonus_key(buyer), reason="ch2")
    credits.move(inviter, -1, LedgerKind.REFERRAL_UNDO, f"referral_undo:{stranger + 100}")

    problems = {problem["problem"] for problem in audit()["problems"]}

    assert problems == {"referral_bonus_not_to_inviter", "referral_bonus_not_first_purchase",
                        "referral_undo_without_bonus"}
