"""Money in: Telegram Stars payments recorded and credited exactly once (DESIGN §11).

A payment is one :class:`~neurocards.models.Payment` row keyed by Telegram's
``telegram_payment_charge_id`` and, in the same transaction, one ``purchase``
ledger row keyed by the same id: an update delivered twice, two bot instances
handling it at once, or a crash between the two writes still credit once.
Giving Stars back takes the credits back first (never below zero) and marks the
payment refunded; when Telegram refuses the refund, the credits are returned.
Nothing here talks to Telegram.
"""

from __future__ import annotations

import dataclasses

from peewee import IntegrityError

from . import credits
from .credits import Movement
from .db import database
from .invoices import Invoice
from .models import LedgerEntry, LedgerKind, Payment, PaymentStatus, utcnow

__all__ = ["Recorded", "record_payment", "claim_receipt", "find", "take_back", "give_back", "mark_refunded"]


@dataclasses.dataclass(frozen=True)
class Recorded:
    payment: Payment
    created: bool  # False: this charge had been recorded before (a duplicate update)


def record_payment(*, user_id: int, charge_id: str, provider_charge_id: str, payload: str, currency: str,
                   stars: int, invoice: Invoice | None) -> Recorded:
    """Record a successful payment and credit its pack, once per charge id.

    ``invoice`` is the checked payload; None when it can't be honoured (a forged
    or foreign payload Telegram took Stars for anyway): the payment is kept as
    ``unmatched``, nothing is credited, and an operator decides.
    """
    amount = invoice.credits if invoice is not None else 0
    try:
        with database.atomic():
            payment = Payment.create(
                user=user_id, telegram_charge_id=charge_id, provider_charge_id=provider_charge_id or "",
                invoice_payload=payload[:128], currency=currency, stars=stars, credits=amount,
                status=PaymentStatus.PAID if invoice is not None else PaymentStatus.UNMATCHED,
            )
            if amount:
                credits.purchase(user_id, amount, charge_id)
    except IntegrityError:
        existing = Payment.get_or_none(Payment.telegram_charge_id == charge_id)
        if existing is None:
            raise
        return Recorded(existing, created=False)
    return Recorded(payment, created=True)


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


def _attempt(payment: Payment) -> int:
    """Which refund attempt of this payment is current: one more than the
    attempts Telegram refused (each left a ``purchase_refund_void`` row)."""
    voided = f"purchase_refund_void:{payment.telegram_charge_id}:"
    return LedgerEntry.select().where(LedgerEntry.key.startswith(voided)).count()


def take_back(payment: Payment, reason: str) -> Movement:
    """Take back the credits a payment bought, before its Stars are returned —
    once per refund attempt, however many callers race (an operator's /refund
    and Telegram's ``refunded_payment``).  Raises
    :class:`credits.InsufficientCredits` when the seller has spent them."""
    key = f"purchase_refund:{payment.telegram_charge_id}:{_attempt(payment)}"
    return credits.move(payment.user_id, -payment.credits, LedgerKind.PURCHASE_REFUND, key, reason=reason)


def give_back(payment: Payment, reason: str) -> Movement:
    """Return the credits :func:`take_back` took when Telegram refused to refund the Stars."""
    key = f"purchase_refund_void:{payment.telegram_charge_id}:{_attempt(payment)}"
    return credits.move(payment.user_id, payment.credits, LedgerKind.PURCHASE_REFUND, key, reason=reason)


def mark_refunded(charge_id: str) -> bool:
    """Record that the payment's Stars went back; True the first time."""
    return (
        Payment.update(status=PaymentStatus.REFUNDED, refunded_at=utcnow())
        .where((Payment.telegram_charge_id == charge_id) & (Payment.status != PaymentStatus.REFUNDED))
        .execute()
        == 1
    )
