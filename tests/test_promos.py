"""Promo codes below the bot (issue 22): made within the limits, redeemed once per
seller, within their uses and expiry, under races — on both databases, with the
audit checking uses against the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from neurocards.models import LedgerEntry, PromoCode, User, utcnow
from neurocards.money import promos
from neurocards.money.audit import audit
from neurocards.settings.money import PromoSettings
from neurocards.stats import stats
from neurocards.users import register
from tests.races import at_once

LIMITS = PromoSettings(max_credits=100, max_uses=1000, max_days=30)
ADMIN = 990_000_001


def sellers(n: int) -> list[int]:
    ids = list(range(1, n + 1))
    for user_id in ids:
        register(user_id, "en", welcome_credits=0)
    return ids


def make(code="SPRING", amount=5, uses=10, days=7, now=None) -> PromoCode:
    now = now or utcnow()
    return promos.create(code, amount, uses, now + dt.timedelta(days=days), ADMIN, LIMITS, now=now)


def test_a_seller_redeems_a_code_once_typed_in_any_case(database_url):
    [seller] = sellers(1)
    make("SPRING", amount=5)
    redeemed = promos.redeem(seller, "  spring ")
    assert (redeemed.code, redeemed.credits, redeemed.balance) == ("SPRING", 5, 5)
    with pytest.raises(promos.PromoRefused) as again:
        promos.redeem(seller, "Spring")
    assert again.value.reason == "already"
    assert User.get_by_id(seller).balance == 5 and PromoCode.get_by_id("SPRING").uses == 1
    [entry] = LedgerEntry.select().where(LedgerEntry.kind == "promo")
    assert (entry.key, entry.amount) == (f"promo:SPRING:{seller}", 5)
    assert audit()["ok"]


@pytest.mark.parametrize("code, reason", [("NOSUCH", "unknown"), ("", "unknown"), ("x" * 40, "unknown"),
                                          ("a b;--", "unknown")])
def test_a_code_never_made_is_unknown(database_url, code, reason):
    [seller] = sellers(1)
    with pytest.raises(promos.PromoRefused) as refused:
        promos.redeem(seller, code)
    assert refused.value.reason == reason and User.get_by_id(seller).balance == 0


def test_an_expired_code_and_a_used_up_code_give_nothing(database_url):
    first, second = sellers(2)
    now = utcnow()
    make("ONCE", uses=1, now=now)
    make("LATE", days=1, now=now)
    promos.redeem(first, "ONCE")
    with pytest.raises(promos.PromoRefused) as used_up:
        promos.redeem(second, "ONCE")
    with pytest.raises(promos.PromoRefused) as expired:
        promos.redeem(second, "LATE", now=now + dt.timedelta(days=1, seconds=1))
    assert (used_up.value.reason, expired.value.reason) == ("used_up", "expired")
    assert User.get_by_id(second).balance == 0 and PromoCode.get_by_id("LATE").uses == 0
    assert audit()["ok"]


@pytest.mark.parametrize("args, reason", [
    (("NEW YEAR", 5, 10, 7), "bad_code"), (("AB", 5, 10, 7), "bad_code"),
    (("GIFT", 0, 10, 7), "bad_credits"), (("GIFT", -5, 10, 7), "bad_credits"), (("GIFT", 101, 10, 7), "bad_credits"),
    (("GIFT", 5, 0, 7), "bad_uses"), (("GIFT", 5, 1001, 7), "bad_uses"),
    (("GIFT", 5, 10, 0), "bad_expiry"), (("GIFT", 5, 10, -1), "bad_expiry"), (("GIFT", 5, 10, 31), "bad_expiry"),
])
def test_a_code_outside_the_limits_is_refused_and_nothing_is_made(database_url, args, reason):
    code, amount, uses, days = args
    with pytest.raises(promos.PromoRefused) as refused:
        make(code, amount, uses, days)
    assert refused.value.reason == reason and PromoCode.select().count() == 0


def test_a_code_made_twice_is_refused_the_second_time(database_url):
    make("GIFT", amount=5)
    with pytest.raises(promos.PromoRefused) as refused:
        make("gift", amount=50)
    assert refused.value.reason == "exists" and PromoCode.get_by_id("GIFT").credits == 5


def _at_once(targets) -> list:
    """The racing redemptions' results, a refusal as its reason."""
    return [getattr(outcome, "reason", outcome) for outcome in at_once(targets, expected=(promos.PromoRefused,))]


def test_eight_sellers_racing_for_the_last_three_uses_three_win(database_url):
    ids = sellers(8)
    make("LAST3", amount=2, uses=3)
    outcomes = _at_once([lambda user_id=user_id: promos.redeem(user_id, "LAST3").credits for user_id in ids])
    assert sorted(map(str, outcomes)) == ["2"] * 3 + ["used_up"] * 5
    assert PromoCode.get_by_id("LAST3").uses == 3
    assert sum(User.get_by_id(user_id).balance for user_id in ids) == 6
    assert audit()["ok"]


def test_one_seller_redeeming_one_code_from_four_places_at_once_is_credited_once(database_url):
    [seller] = sellers(1)
    make("TWICE", amount=4, uses=100)
    outcomes = _at_once([lambda: promos.redeem(seller, "TWICE").credits] * 4)
    assert sorted(map(str, outcomes)) == ["4"] + ["already"] * 3
    assert (User.get_by_id(seller).balance, PromoCode.get_by_id("TWICE").uses) == (4, 1)
    assert audit()["ok"]


def test_the_audit_finds_uses_that_do_not_match_the_ledger(database_url):
    [seller] = sellers(1)
    make("DRIFT", amount=1)
    promos.redeem(seller, "DRIFT")
    PromoCode.update(uses=2).where(PromoCode.code == "DRIFT").execute()  # a use without its ledger row
    problems = audit()["problems"]
    assert {"problem": "promo_uses_mismatch", "code": "DRIFT", "uses": 2, "redemptions": 1} in problems


def test_stats_show_the_credits_codes_gave_and_each_open_code(database_url):
    first, second = sellers(2)
    make("OPEN", amount=3, uses=5)
    now = utcnow()
    make("GONE", amount=1, days=1, now=now - dt.timedelta(days=2))
    promos.redeem(first, "OPEN")
    promos.redeem(second, "OPEN")
    report = stats()
    assert report["credits"]["promo"] == 6
    assert [(p["code"], p["uses"], p["max_uses"]) for p in report["promo_codes"]] == [("OPEN", 2, 5)]
