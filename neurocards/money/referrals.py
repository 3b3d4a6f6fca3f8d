"""Referrals (issue 22): a seller invites others; the inviter's bonus comes with
the invited seller's first purchase, never with a sign-up.

- ``/invite`` shows the seller's code (:func:`code_of`, made once, kept in
  ``users.referral_code``) in a link that opens the bot with ``/start ref_<code>``.
- That ``/start``, from a seller it registered, records the inviter
  (:func:`attach`): never oneself, never a seller who existed before, an
  unknown code refused in plain words.
- The bonus (``credits.referral.bonus``) is credited in the transaction that
  records the invited seller's first paid payment (:func:`on_first_purchase`,
  called by :func:`~neurocards.money.payments.record_payment`), keyed
  ``referral:<invited seller>``: once per invited seller, however the payment
  is replayed; at most ``credits.referral.max_per_month`` a calendar month
  (UTC) per inviter, the inviter's row locked while they are counted, so two
  invited sellers paying at once never both take the month's last bonus.
- The Stars of that first purchase given back: the bonus is taken back
  (``referral_undo:<invited seller>``) if the inviter still has it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import secrets
import string

from peewee import IntegrityError

from ..db import is_postgres
from ..models import LedgerEntry, LedgerKind, Payment, PaymentStatus, User, utcnow
from . import credits
from .credits import InsufficientCredits, Movement

__all__ = ["PREFIX", "Attached", "Summary", "code_of", "parse", "attach", "on_first_purchase", "bonus_of",
           "take_back_bonus", "summary", "bonus_key", "month_start"]

logger = logging.getLogger(__name__)

#: What a referral deep link's ``start`` parameter begins with.
PREFIX = "ref_"
_ALPHABET = string.ascii_lowercase + string.digits
CODE_LENGTH = 8
CODE = re.compile(rf"^[a-z0-9]{{{CODE_LENGTH}}}$")


@dataclasses.dataclass(frozen=True)
class Attached:
    """What a referral link did for the seller who opened it; ``reason`` is a
    text key's last part: ``attached``, ``self``, ``unknown``, ``existing``."""

    reason: str
    inviter_id: int | None = None


def bonus_key(invited_id: int) -> str:
    return f"referral:{invited_id}"


def undo_key(invited_id: int) -> str:
    return f"referral_undo:{invited_id}"


def code_of(user_id: int) -> str:
    """The seller's referral code, made the first time it is asked for."""
    while True:
        code = User.select(User.referral_code).where(User.id == user_id).scalar()
        if code:
            return code
        try:
            (User.update(referral_code="".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH)))
             .where((User.id == user_id) & User.referral_code.is_null()).execute())
        except IntegrityError:  # another seller's code already (1 in 36^8 per seller): draw again
            continue


def parse(start_parameter: str) -> str | None:
    """The code in a ``/start`` parameter, None when it is not a referral link."""
    if not start_parameter.startswith(PREFIX):
        return None
    return start_parameter[len(PREFIX):].lower()


def attach(user_id: int, code: str, *, registered_now: bool) -> Attached:
    """Record who invited ``user_id``: only for the seller this ``/start`` registered."""
    inviter = User.get_or_none(User.referral_code == code) if CODE.match(code) else None
    if inviter is None:
        return Attached("unknown")
    if inviter.id == user_id:
        return Attached("self", inviter.id)
    if not registered_now:
        return Attached("existing", inviter.id)
    set_now = (User.update(referred_by=inviter.id)
               .where((User.id == user_id) & User.referred_by.is_null()).execute())
    return Attached("attached" if set_now else "existing", inviter.id)


def month_start(now: dt.datetime) -> dt.datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def on_first_purchase(payment: Payment, settings, now: dt.datetime | None = None) -> Movement | None:
    """The inviter's bonus for ``payment``, inside its recording transaction;
    None when there is none to give (no inviter, not the first purchase, the
    bonus off, the inviter's month full)."""
    invited = User.get_by_id(payment.user_id)
    if invited.referred_by is None or not settings.bonus or payment.status != PaymentStatus.PAID:
        return None
    earlier = Payment.select().where(
        (Payment.user == invited.id) & (Payment.id != payment.id)
        & Payment.status.in_([PaymentStatus.PAID, PaymentStatus.REFUNDED])).exists()
    if earlier:
        return None
    inviter_id = invited.referred_by
    _lock(inviter_id)
    since = month_start(now or utcnow())
    given = LedgerEntry.select().where((LedgerEntry.user == inviter_id) & (LedgerEntry.kind == LedgerKind.REFERRAL)
                                       & (LedgerEntry.created_at >= since)).count()
    if given >= settings.max_per_month:
        logger.info("referral bonus for %s not given: inviter %s had %d this month", invited.id, inviter_id, given)
        return None
    return credits.move(inviter_id, settings.bonus, LedgerKind.REFERRAL, bonus_key(invited.id),
                        reason=payment.telegram_charge_id)


def _lock(user_id: int) -> None:
    """Hold the inviter's row until the transaction ends (SQLite's transactions
    hold the whole database already: ``lock_type="IMMEDIATE"``)."""
    if is_postgres():
        User.select(User.id).where(User.id == user_id).for_update().execute()


def bonus_of(charge_id: str) -> LedgerEntry | None:
    """The inviter's bonus the payment ``charge_id`` earned, if any."""
    return LedgerEntry.get_or_none((LedgerEntry.kind == LedgerKind.REFERRAL) & (LedgerEntry.reason == charge_id))


@dataclasses.dataclass(frozen=True)
class Summary:
    joined: int  # sellers who came by the inviter's link
    bonuses: int  # ... of whom made a first purchase that earned a bonus
    credits: int  # the bonuses' credits, less any taken back
    this_month: int  # bonuses this calendar month


def summary(user_id: int, now: dt.datetime | None = None) -> Summary:
    """What the seller's invitations brought them (/invite)."""
    rows = list(LedgerEntry.select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.created_at).where(
        (LedgerEntry.user == user_id) & LedgerEntry.kind.in_([LedgerKind.REFERRAL, LedgerKind.REFERRAL_UNDO])))
    since = month_start(now or utcnow())
    bonuses = [row for row in rows if row.kind == LedgerKind.REFERRAL]
    return Summary(joined=User.select().where(User.referred_by == user_id).count(), bonuses=len(bonuses),
                   credits=sum(row.amount for row in rows),
                   this_month=sum(1 for row in bonuses if row.created_at >= since))


def take_back_bonus(charge_id: str) -> Movement | None:
    """The Stars of ``charge_id`` went back: if it earned an inviter's bonus,
    take the bonus back, once; never below zero (a spent bonus is logged and
    the audit shows it)."""
    bonus = bonus_of(charge_id)
    if bonus is None:
        return None
    invited_id = int(bonus.key.removeprefix("referral:"))
    try:
        return credits.move(bonus.user_id, -bonus.amount, LedgerKind.REFERRAL_UNDO, undo_key(invited_id),
                            reason=charge_id)
    except InsufficientCredits as exc:
        logger.error("referral bonus of charge %s not taken back: inviter %s has %s of %s credits", charge_id,
                     bonus.user_id, exc.balance, bonus.amount)
        return None
