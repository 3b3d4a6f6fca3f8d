"""Our payments held against Telegram's own list of Star transactions
(``getStarTransactions``): a charge Telegram took that we never recorded, a
payment we recorded that Telegram never charged (a forged update), and a refund
on one side only.  Run by the bot periodically (a gauge per kind, alerted on)
and by ``neurocards audit --payments``.

Telegram lists a payment as a transaction with a ``source`` (the user) and its
refund as one with the same id and a ``receiver``.
"""

from __future__ import annotations

import dataclasses

from ..models import Payment, PaymentStatus

__all__ = ["Mismatch", "MISMATCH_KINDS", "compare", "fetch_transactions", "reconcile"]

#: The kinds of disagreement, each its own gauge series.
MISMATCH_KINDS = ("charge_not_credited", "credit_without_charge", "refund_only_at_telegram", "refund_only_here")

#: Telegram returns at most 100 transactions per call.
PAGE = 100
#: A bound on the pages read in one reconciliation (100,000 transactions).
MAX_PAGES = 1000


@dataclasses.dataclass(frozen=True)
class Mismatch:
    kind: str
    charge_id: str
    user_id: int | None
    stars: int
    payload: str = ""  # a charge we have no record of: the invoice payload Telegram lists with it
    date: int = 0  # ... and when Telegram took the Stars (Unix time)
    subscription_period: int = 0  # ... and, for a month of a subscription, its period (seconds)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _user_of(partner) -> int | None:
    user = getattr(partner, "user", None)
    return getattr(user, "id", None)


def compare(transactions, payments: list[Payment]) -> list[Mismatch]:
    """What differs between Telegram's ``transactions`` and our ``payments``."""
    charged = {t.id: t for t in transactions if t.source is not None and _user_of(t.source) is not None}
    refunded = {t.id: t for t in transactions if t.receiver is not None and _user_of(t.receiver) is not None}
    ours = {payment.telegram_charge_id: payment for payment in payments}
    found = [Mismatch("charge_not_credited", charge, _user_of(t.source), t.amount,
                      getattr(t.source, "invoice_payload", None) or "", _unix(t.date),
                      getattr(t.source, "subscription_period", None) or 0)
             for charge, t in charged.items() if charge not in ours]
    for charge, payment in ours.items():
        if charge not in charged:
            found.append(Mismatch("credit_without_charge", charge, payment.user_id, payment.stars))
            continue
        at_telegram, here = charge in refunded, payment.status == PaymentStatus.REFUNDED
        if at_telegram and not here:
            found.append(Mismatch("refund_only_at_telegram", charge, payment.user_id, payment.stars))
        elif here and not at_telegram:
            found.append(Mismatch("refund_only_here", charge, payment.user_id, payment.stars))
    return found


def _unix(date) -> int:
    """aiogram reads ``date`` as a datetime; the Bot API sends Unix time."""
    return int(date.timestamp()) if hasattr(date, "timestamp") else int(date or 0)


async def fetch_transactions(bot) -> list:
    """Every Star transaction of the bot, page by page."""
    transactions = []
    for page in range(MAX_PAGES):
        batch = (await bot.get_star_transactions(offset=page * PAGE, limit=PAGE)).transactions
        transactions.extend(batch)
        if len(batch) < PAGE:
            break
    return transactions


async def reconcile(bot) -> list[Mismatch]:
    """Fetch Telegram's list and compare it with ours (the database read in a thread)."""
    import asyncio

    transactions = await fetch_transactions(bot)
    payments = await asyncio.to_thread(lambda: list(Payment.select()))
    return compare(transactions, payments)
