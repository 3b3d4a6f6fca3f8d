"""Promo codes (issue 22): credits an operator gives away under a code.

An operator makes a code (:func:`create`: credits per seller, how many sellers,
when it expires, within ``credits.promo``); a seller redeems it once
(:func:`redeem`).  A redemption is one transaction: a conditional update takes
one of the code's uses (``uses < max_uses`` and not expired: of two sellers
taking the last use at once, one wins) and the ledger row, keyed
``promo:<code>:<seller>``, gives the credits (a seller redeeming twice at once
is credited once: the second transaction finds the key taken and is rolled
back, its use with it).  The audit checks uses against the ledger.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from ..db import database
from ..models import LedgerEntry, LedgerKind, PromoCode, utcnow
from . import credits

__all__ = ["CODE", "PromoRefused", "Redeemed", "normalise", "create", "redeem", "ledger_key", "codes"]

#: What a code may look like (after :func:`normalise`): letters, digits, "-" and "_", 3-32 of them.
CODE = re.compile(r"^[A-Z0-9_-]{3,32}$")


class PromoRefused(Exception):
    """A code not made or not redeemed; ``reason`` says why (a text key's last part)."""

    def __init__(self, reason: str, **details) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


@dataclasses.dataclass(frozen=True)
class Redeemed:
    code: str
    credits: int
    balance: int


def normalise(code: str) -> str:
    """Codes are typed case-insensitively, with stray spaces."""
    return code.strip().upper()


def ledger_key(code: str, user_id: int) -> str:
    return f"promo:{code}:{user_id}"


def create(code: str, amount: int, max_uses: int, expires_at: dt.datetime, admin_id: int, limits,
           now: dt.datetime | None = None) -> PromoCode:
    """Make a code, within ``limits`` (``credits.promo``); raises :class:`PromoRefused`
    (``bad_code``, ``bad_credits``, ``bad_uses``, ``bad_expiry``, ``exists``) with nothing written."""
    now = now or utcnow()
    code = normalise(code)
    if not CODE.match(code):
        raise PromoRefused("bad_code")
    if not 1 <= amount <= limits.max_credits:
        raise PromoRefused("bad_credits", limit=limits.max_credits)
    if not 1 <= max_uses <= limits.max_uses:
        raise PromoRefused("bad_uses", limit=limits.max_uses)
    if not now < expires_at <= now + dt.timedelta(days=limits.max_days):
        raise PromoRefused("bad_expiry", limit=limits.max_days)
    with database.atomic():
        if PromoCode.get_or_none(PromoCode.code == code) is not None:
            raise PromoRefused("exists")
        return PromoCode.create(code=code, credits=amount, max_uses=max_uses, expires_at=expires_at,
                                created_by=admin_id, created_at=now)


class _Again(Exception):
    """The seller's redemption was committed by another transaction meanwhile."""


def redeem(user_id: int, code: str, now: dt.datetime | None = None) -> Redeemed:
    """Give the seller the code's credits, once; raises :class:`PromoRefused`
    (``unknown``, ``already``, ``expired``, ``used_up``) with nothing written."""
    now = now or utcnow()
    code = normalise(code)
    promo = PromoCode.get_or_none(PromoCode.code == code) if CODE.match(code) else None
    if promo is None:
        raise PromoRefused("unknown")
    key = ledger_key(code, user_id)
    if LedgerEntry.select().where(LedgerEntry.key == key).exists():
        raise PromoRefused("already")
    try:
        with database.atomic():
            taken = (PromoCode.update(uses=PromoCode.uses + 1)
                     .where((PromoCode.code == code) & (PromoCode.uses < PromoCode.max_uses)
                            & (PromoCode.expires_at > now))
                     .execute())
            if not taken:
                raise PromoRefused("expired" if promo.expires_at <= now else "used_up")
            movement = credits.move(user_id, promo.credits, LedgerKind.PROMO, key, reason=f"promo code {code}")
            if not movement.created:
                raise _Again()
    except _Again:
        raise PromoRefused("already") from None
    return Redeemed(code, promo.credits, credits.balance_of(user_id))


def codes(limit: int = 20) -> list[PromoCode]:
    """The latest codes, newest first (/promo list)."""
    return list(PromoCode.select().order_by(PromoCode.created_at.desc()).limit(limit))
