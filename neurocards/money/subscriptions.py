"""Stars subscriptions (issue 22): a monthly plan of credits, paid month by month.

A seller subscribes through an invoice link (``createInvoiceLink`` with
``subscription_period``); each month's ``successful_payment`` — the first with
``is_first_recurring``, the renewals with ``is_recurring`` and the first
invoice's payload — is recorded by :func:`~neurocards.money.payments.record_payment`,
which calls :func:`credit_month` in its transaction:

- the first month makes the :class:`~neurocards.models.Subscription`;
- a renewal finds it by the seller and the payload and moves its end on;
- each month's credits are a ``subscription`` ledger row keyed
  ``subscription:<charge id>``: a month is credited once, however often its
  update comes;
- without ``credits.subscription.rollover`` the month gone by's unused credits
  expire first (a ``sub_expiry`` row keyed by the new month's charge): the
  plan's credits count as spent before any others, so bought credits never
  expire;
- a renewal for a plan the seller cancelled with us credits nothing: the
  payment is kept as unmatched for an operator (so is one whose payload we
  never signed: :mod:`~neurocards.money.invoices`); a renewal of a plan we sold
  whose first month was never recorded starts the plan.

A month with no renewal ``end_grace_s`` past its end has ended
(:func:`end_lapsed`, on a period): its unused credits expire the same way.
Nothing here talks to Telegram.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from peewee import fn

from ..db import database, is_postgres
from ..models import LedgerEntry, LedgerKind, Payment, PaymentStatus, Subscription, SubscriptionStatus, User, utcnow
from . import credits

__all__ = ["Month", "credit_month", "lost_month", "renews_cancelled_plan", "expired_with", "current", "cancel",
           "resume", "end_lapsed", "unused_credits", "month_key", "SPENDING_KINDS"]

logger = logging.getLogger(__name__)

#: The ledger kinds that spend credits or give spent ones back: what a month's use is counted from.
SPENDING_KINDS = (LedgerKind.DEBIT, LedgerKind.REFUND, LedgerKind.REFUND_REVERSAL, LedgerKind.GOODWILL_REFUND)


@dataclasses.dataclass(frozen=True)
class Month:
    """What a subscription payment says of itself."""

    expires_at: dt.datetime  # subscription_expiration_date, naive UTC
    first: bool  # is_first_recurring


def month_key(charge_id: str) -> str:
    return f"subscription:{charge_id}"


def _expiry_key(reason: str) -> str:
    return f"sub_expiry:{reason}"


def credit_month(payment: Payment, invoice, month: Month, *, rollover: bool) -> Subscription | None:
    """Inside the payment's transaction: the plan's month credited once, its
    subscription made or moved on; None (nothing credited) for a renewal of a
    plan cancelled with us."""
    subscription = None if month.first else _plan_locked(payment)
    if subscription is None:  # the first month (or a renewal whose first month we never recorded: a plan we sold)
        subscription = Subscription.create(
            user=payment.user_id, first_charge_id=payment.telegram_charge_id, invoice_payload=payment.invoice_payload,
            credits=invoice.credits, stars=invoice.stars, period_end=month.expires_at)
    else:
        if subscription.cancelled_at is not None:  # cancelled with us (running to its end, or ended since)
            logger.error("renewal %s of %s for a plan cancelled with us: nothing credited",
                         payment.telegram_charge_id, payment.user_id)
            return None
        if not rollover:
            _expire_unused(subscription, payment.telegram_charge_id)
        (Subscription.update(period_end=month.expires_at, status=SubscriptionStatus.ACTIVE,
                             months=Subscription.months + 1, ended_at=None)
         .where(Subscription.id == subscription.id).execute())
    payment.subscription_id = subscription.id
    payment.save(only=[Payment.subscription_id])
    credits.move(payment.user_id, invoice.credits, LedgerKind.SUBSCRIPTION, month_key(payment.telegram_charge_id),
                 reason=f"subscription {subscription.id}")
    return Subscription.get_by_id(subscription.id)


def lost_month(user_id: int, payload: str, charged_at: dt.datetime, period_s: int) -> Month:
    """A month Telegram charged whose update we never recorded (the reconciler's): the
    first when the seller has no plan of ``payload``; a renewal runs a period from the
    end of the month it follows (Telegram renews at the end), or from its charge."""
    plan = (Subscription.select().where((Subscription.user == user_id)
                                        & (Subscription.invoice_payload == payload[:128]))
            .order_by(Subscription.id.desc()).first())
    start = charged_at if plan is None else max(charged_at, plan.period_end)
    return Month(start + dt.timedelta(seconds=period_s), first=plan is None)


def _plan_locked(payment: Payment) -> Subscription | None:
    """The plan a renewal pays, its row held until the payment's transaction ends
    (a sweep ending it at the same moment waits, or is waited for: one expiry)."""
    query = (Subscription.select()
             .where((Subscription.user == payment.user_id) & (Subscription.invoice_payload == payment.invoice_payload))
             .order_by(Subscription.id.desc()))
    return (query.for_update() if is_postgres() else query).first()


def _last_month(subscription: Subscription) -> LedgerEntry | None:
    """The ledger row of the subscription's latest month."""
    return (LedgerEntry.select().where((LedgerEntry.kind == LedgerKind.SUBSCRIPTION)
                                       & (LedgerEntry.reason == f"subscription {subscription.id}"))
            .order_by(LedgerEntry.id.desc()).first())


def _refunded(month: LedgerEntry) -> bool:
    charge = month.key.removeprefix("subscription:")
    return Payment.select().where((Payment.telegram_charge_id == charge)
                                  & (Payment.status == PaymentStatus.REFUNDED)).exists()


def _sum_since(entry: LedgerEntry, condition) -> int:
    return int(LedgerEntry.select(fn.COALESCE(fn.SUM(LedgerEntry.amount), 0))
               .where((LedgerEntry.user == entry.user_id) & (LedgerEntry.id > entry.id) & condition).scalar() or 0)


def unused_credits(subscription: Subscription) -> int:
    """Of the latest month's credits, what the seller has neither spent (the
    plan's credits spent first) nor had expire already, never more than the balance."""
    month = _last_month(subscription)
    if month is None or _refunded(month):
        return 0  # (a month whose Stars went back had its credits taken back with them)
    # what jobs debited since the month began took, net of their own refunds (not of older jobs')
    debited_since = LedgerEntry.select(LedgerEntry.job).where(
        (LedgerEntry.user == month.user_id) & (LedgerEntry.kind == LedgerKind.DEBIT) & (LedgerEntry.id > month.id))
    given_back = LedgerEntry.kind.in_([kind for kind in SPENDING_KINDS if kind != LedgerKind.DEBIT])
    spent = max(-_sum_since(month, (LedgerEntry.kind == LedgerKind.DEBIT)
                            | (given_back & LedgerEntry.job.in_(debited_since))), 0)
    expired = -_sum_since(month, (LedgerEntry.kind == LedgerKind.SUBSCRIPTION_EXPIRY)
                          & (LedgerEntry.reason == month.reason))
    balance = User.select(User.balance).where(User.id == subscription.user_id).scalar() or 0
    return max(0, min(month.amount - spent - expired, balance))


def _expire_unused(subscription: Subscription, reason: str) -> credits.Movement | None:
    unused = unused_credits(subscription)
    if not unused:
        return None
    return credits.move(subscription.user_id, -unused, LedgerKind.SUBSCRIPTION_EXPIRY, _expiry_key(reason),
                        reason=f"subscription {subscription.id}")


def expired_with(charge_id: str) -> int:
    """The credits that expired when the month ``charge_id`` paid began."""
    entry = LedgerEntry.get_or_none(LedgerEntry.key == _expiry_key(charge_id))
    return -entry.amount if entry is not None else 0


def current(user_id: int) -> Subscription | None:
    """The seller's plan that is still running (active or cancelled, before its end)."""
    return (Subscription.select()
            .where((Subscription.user == user_id) & (Subscription.status != SubscriptionStatus.ENDED))
            .order_by(Subscription.id.desc()).first())


def renews_cancelled_plan(payment: Payment) -> bool:
    """Whether an unmatched month pays a plan the seller cancelled with us (credited
    nothing: :func:`credit_month`), rather than a payload we could not read."""
    return (payment.status == PaymentStatus.UNMATCHED and Subscription.select().where(
        (Subscription.user == payment.user_id) & (Subscription.invoice_payload == payment.invoice_payload)
        & Subscription.cancelled_at.is_null(False)).exists())


def cancel(subscription_id: int, user_id: int) -> bool:
    """The seller cancelled (Telegram told, before this): no more renewals are
    credited; the month paid runs to its end.  True the first time."""
    return bool(Subscription.update(status=SubscriptionStatus.CANCELLED, cancelled_at=utcnow())
                .where((Subscription.id == subscription_id) & (Subscription.user == user_id)
                       & (Subscription.status == SubscriptionStatus.ACTIVE)).execute())


def resume(subscription_id: int, user_id: int) -> bool:
    """The seller took the cancellation back before the month ended."""
    return bool(Subscription.update(status=SubscriptionStatus.ACTIVE, cancelled_at=None)
                .where((Subscription.id == subscription_id) & (Subscription.user == user_id)
                       & (Subscription.status == SubscriptionStatus.CANCELLED)
                       & (Subscription.period_end > utcnow())).execute())


def end_lapsed(*, grace_s: float, rollover: bool, now: dt.datetime | None = None) -> int:
    """End every plan whose month is over by ``grace_s`` with no renewal (the
    seller cancelled, or Telegram could not charge them), its unused credits
    expired unless they roll over; how many ended.  Once per plan and month,
    however many bot instances sweep at once."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=grace_s)
    ended = 0
    for subscription in Subscription.select().where((Subscription.status != SubscriptionStatus.ENDED)
                                                    & (Subscription.period_end < cutoff)):
        with database.atomic():
            if not (Subscription.update(status=SubscriptionStatus.ENDED, ended_at=utcnow())
                    .where((Subscription.id == subscription.id)
                           & (Subscription.period_end == subscription.period_end)
                           & (Subscription.status != SubscriptionStatus.ENDED)).execute()):
                continue  # renewed, or ended by another sweep, meanwhile
            if not rollover:
                ends = int(subscription.period_end.replace(tzinfo=dt.UTC).timestamp())
                _expire_unused(subscription, f"end:{subscription.id}:{ends}")
        ended += 1
    return ended
