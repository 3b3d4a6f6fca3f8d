"""Counts for the operator: sellers, jobs by status, credits moved, Stars purchases."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from .models import Job, JobStatus, LedgerEntry, LedgerKind, Payment, PaymentStatus, User

__all__ = ["stats"]


def stats(since: dt.datetime | None = None) -> dict:
    """Totals, or those since ``since`` (naive UTC) for jobs and credits."""
    jobs = Job.select(Job.status, fn.COUNT(Job.id).alias("n")).group_by(Job.status)
    ledger = LedgerEntry.select(LedgerEntry.kind, fn.SUM(LedgerEntry.amount).alias("total")).group_by(LedgerEntry.kind)
    if since is not None:
        jobs = jobs.where(Job.created_at >= since)
        ledger = ledger.where(LedgerEntry.created_at >= since)
    paid = Payment.select(Payment.status, fn.COUNT(Payment.id).alias("n"), fn.SUM(Payment.stars).alias("stars"),
                          fn.SUM(Payment.credits).alias("credits")).group_by(Payment.status)
    if since is not None:
        paid = paid.where(Payment.created_at >= since)
    purchases = {row.status: row for row in paid}
    by_status = {status.value: 0 for status in JobStatus}
    by_status.update({row.status: row.n for row in jobs})
    moved = {row.kind: int(row.total or 0) for row in ledger}
    return {
        "users": User.select().count(),
        "jobs": {"total": sum(by_status.values()), "by_status": by_status},
        "credits": {
            "debited": -moved.get(LedgerKind.DEBIT, 0),
            "refunded": moved.get(LedgerKind.REFUND, 0),
            "granted": moved.get(LedgerKind.WELCOME, 0) + moved.get(LedgerKind.GRANT, 0),
            "purchased": moved.get(LedgerKind.PURCHASE, 0),
            "outstanding": int(User.select(fn.COALESCE(fn.SUM(User.balance), 0)).scalar() or 0),
        },
        "purchases": {
            "count": sum(row.n for row in purchases.values()),
            "stars": sum(int(row.stars or 0) for row in purchases.values()),
            "credits": sum(int(row.credits or 0) for row in purchases.values()),
            **{str(status): getattr(purchases.get(status), "n", 0) for status in PaymentStatus},
        },
        "operator_actions": operator_actions(),
    }


#: How many of the latest operator actions ``stats`` lists.
OPERATOR_ACTIONS_SHOWN = 10


def operator_actions(limit: int = OPERATOR_ACTIONS_SHOWN) -> list[dict]:
    """The latest credits moved by an operator (grants, refunds): who, when, what, why —
    each ledger reason an operator's command wrote starts with ``admin <id>``."""
    entries = (LedgerEntry.select().where(LedgerEntry.reason.startswith("admin "))
               .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit))
    return [{"at": f"{entry.created_at:%Y-%m-%d %H:%M:%S}", "seller": entry.user_id, "kind": entry.kind,
             "amount": entry.amount, "reason": entry.reason} for entry in entries]
