"""Money in: Telegram Stars payments recorded and credited exactly once (DESIGN §11).

A payment is one :class:`~neurocards.models.Payment` row keyed by Telegram's
``telegram_payment_charge_id`` and, in the same transaction, one ``purchase``
ledger row keyed by the same id: an update delivered twice, two bot instances
handling it at once, or a crash between the two writes still credit once.
Giving Stars back takes the credits back first (never below zero) and marks the
payment refunded; when Telegram refuses the refund, the credits are returned —
one return per take-back, keyed by it — and one refund of a charge is under way
at a time (:func:`claim_refund`).
Nothing here talks to Telegram.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from peewee import IntegrityError

from ..db import database
from ..models import LedgerEntry, LedgerKind, Payment, PaymentStatus, utcnow
from . import credits, referrals, subscriptions
from .credits import Movement
from .invoices import Invoice

__all__ = ["Recorded", "record_payment", "claim_receipt", "find", "claim_refund", "release_refund", "take_back",
           "give_back", "void_key", "mark_refunded", "REFUND_CLAIM_S"]


@dataclasses.dataclass(frozen=True)
class Recorded:
    payment: Payment
    created: bool  # False: this charge had been recorded before (a duplicate update)
    bonus: Movement | None = None  # the inviter's referral bonus this payment earned


#: Telegram's answer to a refund of a charge already refunded (the refund is done).
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


def record_payment(*, user_id: int, charge_id: str, provider_charge_id: str, payload: str, currency: str,
                   stars: int, invoice: Invoice | None, recovered: bool = False, referral=None,
                   month: subscriptions.Month | None = None, rollover: bool = False) -> Recorded:
    """Record a successful payment and credit its pack, once per charge id;
    the seller's first, when someone invited them, with the inviter's bonus
    (``referral``: ``credits.referral``; None gives none) in the same transaction.

    ``invoice`` is the checked payload; None when it can't be honoured (a forged
    or foreign payload Telegram took Stars for anyway): the payment is kept as
    ``unmatched``, nothing is credited, and an operator decides.  ``recovered``:
    the reconciler found the charge in Telegram's list with no record of ours
    (the update's handler never got to write it) and is crediting it now.
    ``month``: the payment is a month of the subscription plan
    (:mod:`neurocards.money.subscriptions`; ``rollover``: its setting); a
    renewal of a plan cancelled with us is kept as ``unmatched`` too.
    """
    amount = invoice.credits if invoice is not None else 0
    bonus = None
    try:
        with database.atomic():
            payment = Payment.create(
                user=user_id, telegram_charge_id=charge_id, provider_charge_id=provider_charge_id or "",
                invoice_payload=payload[:128], currency=currency, stars=stars, credits=amount,
                status=PaymentStatus.PAID if invoice is not None else PaymentStatus.UNMATCHED,
                recovered_at=utcnow() if recovered else None,
            )
            if amount and month is not None:
                if subscriptions.credit_month(payment, invoice, month, rollover=rollover) is None:
                    payment.status, payment.credits, amount = PaymentStatus.UNMATCHED, 0, 0
                    payment.save(only=[Payment.status, Payment.credits])
            elif amount:
                credits.purchase(user_id, amount, charge_id)
            if amount and referral is not None:
                bonus = referrals.on_first_purchase(payment, referral)
    except IntegrityError:
        existing = Payment.get_or_none(Payment.telegram_charge_id == charge_id)
        if existing is None:
            raise
        return Recorded(existing, created=False)
    return Recorded(payment, created=True, bonus=bonus)


def claim_receipt(payment_id: int) -> bool:
    """True for the one caller that should send this payment's receipt."""
    return (
        Payment.update(receipt_sent_at=utcnow())
        .where((Payment.id == payment_id) & Payment.receipt_sent_at.is_null())
        .execute()
        == 1
    )


def find(charge_id: str) -> Payment | None:
    return Payment.get_or_none(Payment.telegram_charge_id == charge_id)


#: How long a refund claim holds: longer than the Telegram call it covers (the
#: bot's timeouts are well under it); a claim older than that has no live holder.
REFUND_CLAIM_S = 300.0

TAKE_BACK_PREFIX = "purchase_refund:"
VOID_PREFIX = "purchase_refund_void:"


def claim_refund(payment_id: int, holder: str, *, hold_s: float = REFUND_CLAIM_S) -> bool:
    """Make ``holder`` the one refund of this payment under way; False while
    another holds it (or when the payment is refunded already).

    A refund is two systems — our ledger and Telegram's ``refundStarPayment`` —
    and two refunds of one charge at once (two operators, two webhook
    instances) would each take the credits back and, both refused, each give
    them back.  The claim is a conditional update, so exactly one caller wins;
    a holder that died leaves a claim that expires after ``hold_s``.
    """
    now = utcnow()
    stale = now - dt.timedelta(seconds=hold_s)
    free = (Payment.refund_claim == "") | (Payment.refund_claimed_at < stale) | (Payment.refund_claim == holder)
    return (
        Payment.update(refund_claim=holder, refund_claimed_at=now)
        .where((Payment.id == payment_id) & (Payment.status != PaymentStatus.REFUNDED) & free)
        .execute()
        == 1
    )


def release_refund(payment_id: int, holder: str) -> None:
    """Give back a claim taken by :func:`claim_refund`."""
    Payment.update(refund_claim="", refund_claimed_at=None).where(
        (Payment.id == payment_id) & (Payment.refund_claim == holder)).execute()


def _attempt(payment: Payment) -> int:
    """Which refund attempt of this payment is current: one more than the
    attempts Telegram refused (each left its void).  An attempt whose take-back
    has no void yet is still current: a caller that died after taking back, or
    Telegram's ``refunded_payment`` racing an operator's refund, reuses its row."""
    return LedgerEntry.select().where(LedgerEntry.key.startswith(f"{VOID_PREFIX}{payment.telegram_charge_id}:")).count()


def take_back(payment: Payment, reason: str) -> Movement:
    """Take back the credits a payment bought, before its Stars are returned —
    once per refund attempt, however many callers race (an operator's /refund
    and Telegram's ``refunded_payment``).  Raises
    :class:`credits.InsufficientCredits` when the seller has spent them."""
    key = f"{TAKE_BACK_PREFIX}{payment.telegram_charge_id}:{_attempt(payment)}"
    return credits.move(payment.user_id, -payment.credits, LedgerKind.PURCHASE_REFUND, key, reason=reason)


def void_key(take_back_key: str) -> str:
    """The key of the one void a take-back may have: it names the take-back."""
    return VOID_PREFIX + take_back_key.removeprefix(TAKE_BACK_PREFIX)


def give_back(taken: Movement, reason: str) -> Movement:
    """Return the credits the take-back ``taken`` took when Telegram refused to
    refund the Stars: once per take-back, keyed by it, however many callers
    saw the same refusal."""
    entry = taken.entry
    return credits.move(entry.user_id, -entry.amount, LedgerKind.PURCHASE_REFUND, void_key(entry.key),
                        reason=reason)


def mark_refunded(charge_id: str) -> bool:
    """Record that the payment's Stars went back; True the first time."""
    return (
        Payment.update(status=PaymentStatus.REFUNDED, refunded_at=utcnow())
        .where((Payment.telegram_charge_id == charge_id) & (Payment.status != PaymentStatus.REFUNDED))
        .execute()
        == 1
    )
