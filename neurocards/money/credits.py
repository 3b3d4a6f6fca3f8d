"""The credit ledger: the only place where a balance changes.

Every movement is one transaction that inserts a ledger row under a unique
idempotency key and moves the balance by the same amount with a conditional
update that never takes it below zero.  Replaying a movement with the same key
changes nothing and returns the row written the first time.

The row is inserted *before* the balance moves: a concurrent replay then waits
on the unique index and finds the committed row, instead of racing on the
balance.  Nothing here knows about HTTP, Telegram or the pipeline.
"""

from __future__ import annotations

import dataclasses
import uuid

from peewee import IntegrityError

from ..db import database
from ..models import Job, LedgerEntry, LedgerKind, User

__all__ = [
    "Movement",
    "InsufficientCredits",
    "LedgerConflict",
    "NoDebit",
    "move",
    "welcome",
    "debit_job",
    "refund_job",
    "reverse_refund",
    "grant",
    "purchase",
    "balance_of",
    "recent_movements",
]


class InsufficientCredits(Exception):
    """The balance cannot cover the debit; nothing was written."""

    def __init__(self, user_id: int, balance: int, needed: int) -> None:
        super().__init__(f"user {user_id} has {balance} credits, needs {needed}")
        self.user_id = user_id
        self.balance = balance
        self.needed = needed


class LedgerConflict(Exception):
    """An idempotency key was reused for a different movement."""


class NoDebit(Exception):
    """A refund was asked for a job that was never debited."""


@dataclasses.dataclass(frozen=True)
class Movement:
    entry: LedgerEntry
    created: bool  # False when the key had been applied before (a replay)

    @property
    def amount(self) -> int:
        return self.entry.amount


def move(user_id: int, amount: int, kind: LedgerKind, key: str, *, job=None, reason: str = "") -> Movement:
    """Insert the ledger row and move the balance, atomically and once per key.

    The one primitive every movement is made of; prefer the named verbs below.
    """
    job_id = getattr(job, "id", job)
    try:
        with database.atomic():
            entry = LedgerEntry.create(
                user=user_id, job=job_id, kind=kind, amount=amount, key=key, reason=reason
            )
            moved = (
                User.update(balance=User.balance + amount)
                .where((User.id == user_id) & (User.balance + amount >= 0))
                .execute()
            )
            if not moved:
                raise _Rollback()
    except _Rollback:
        balance = balance_of(user_id)
        raise InsufficientCredits(user_id, balance, -amount) from None
    except IntegrityError:
        existing = LedgerEntry.get_or_none(LedgerEntry.key == key)
        if existing is None:  # the user does not exist (foreign key)
            raise
        if (existing.user_id, existing.amount, existing.kind) != (user_id, amount, kind):
            raise LedgerConflict(f"ledger key {key!r} already used for another movement") from None
        return Movement(existing, created=False)
    return Movement(entry, created=True)


class _Rollback(Exception):
    """Raised inside the transaction to undo the ledger row."""


def welcome(user_id: int, amount: int) -> Movement:
    """The one-time welcome grant of a new seller."""
    return move(user_id, amount, LedgerKind.WELCOME, f"welcome:{user_id}", reason="welcome")


def debit_job(job: Job, price: int) -> Movement:
    """Take the price of ``job`` from its seller, once per job."""
    return move(job.user_id, -price, LedgerKind.DEBIT, f"debit:{job.id}", job=job)


def refund_job(job: Job | uuid.UUID | str, reason: str = "") -> Movement:
    """Give back what ``job`` was debited, at most once per job."""
    job_id = getattr(job, "id", job)
    debit = LedgerEntry.get_or_none(LedgerEntry.key == f"debit:{job_id}")
    if debit is None:
        raise NoDebit(f"job {job_id} was never debited")
    return move(debit.user_id, -debit.amount, LedgerKind.REFUND, f"refund:{job_id}", job=job_id, reason=reason)


def reverse_refund(job: Job | uuid.UUID | str, reason: str = "") -> Movement | None:
    """Take back a job's refund: its video reached the seller after all.  Once
    per job; None when the job was never refunded.  Raises
    :class:`InsufficientCredits` when the seller has spent the refund."""
    job_id = getattr(job, "id", job)
    refund = LedgerEntry.get_or_none(LedgerEntry.key == f"refund:{job_id}")
    if refund is None:
        return None
    return move(refund.user_id, -refund.amount, LedgerKind.REFUND_REVERSAL, f"refund_reversal:{job_id}",
                job=job_id, reason=reason)


def grant(user_id: int, amount: int, reason: str, key: str | None = None) -> Movement:
    """An operator's grant (positive) or correction (negative, never below zero)."""
    if amount == 0:
        raise ValueError("a grant of 0 credits moves nothing")
    return move(user_id, amount, LedgerKind.GRANT, key or f"grant:{uuid.uuid4()}", reason=reason)


def purchase(user_id: int, amount: int, payment_id: str) -> Movement:
    """Credits bought; idempotent on the payment provider's charge id."""
    if amount <= 0:
        raise ValueError("a purchase adds a positive number of credits")
    return move(user_id, amount, LedgerKind.PURCHASE, f"purchase:{payment_id}", reason=payment_id)


def balance_of(user_id: int) -> int:
    user = User.get_or_none(User.id == user_id)
    return user.balance if user else 0


def recent_movements(user_id: int, limit: int = 5) -> list[LedgerEntry]:
    return list(
        LedgerEntry.select()
        .where(LedgerEntry.user == user_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(limit)
    )
