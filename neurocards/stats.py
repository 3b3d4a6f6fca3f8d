"""Counts for the operator: sellers, jobs by status, credits moved, Stars purchases, subscriptions,
referrals, promo codes."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from .models import (
    Broadcast,
    BroadcastStatus,
    Job,
    JobStatus,
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentStatus,
    PromoCode,
    Report,
    ReportStatus,
    Subscription,
    SubscriptionStatus,
    User,
    utcnow,
)
from .texts import one_line

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
            "promo": moved.get(LedgerKind.PROMO, 0),
            "referral": moved.get(LedgerKind.REFERRAL, 0) + moved.get(LedgerKind.REFERRAL_UNDO, 0),
            "subscription": moved.get(LedgerKind.SUBSCRIPTION, 0),
            "expired": -moved.get(LedgerKind.SUBSCRIPTION_EXPIRY, 0),
            "outstanding": int(User.select(fn.COALESCE(fn.SUM(User.balance), 0)).scalar() or 0),
        },
        "purchases": {
            "count": sum(row.n for row in purchases.values()),
            "stars": sum(int(row.stars or 0) for row in purchases.values()),
            "credits": sum(int(row.credits or 0) for row in purchases.values()),
            **{str(status): getattr(purchases.get(status), "n", 0) for status in PaymentStatus},
        },
        "referrals": referrals(since),
        "subscriptions": subscriptions(),
        "promo_codes": [{"code": p.code, "credits": p.credits, "uses": p.uses, "max_uses": p.max_uses,
                         "expires_at": p.expires_at.isoformat(timespec="seconds")} for p in promo_codes(since)],
        "operator_actions": operator_actions(),
    }


def subscriptions() -> dict:
    """Plans by status, and the months and Stars they brought."""
    by_status = {str(status): 0 for status in SubscriptionStatus}
    by_status.update({row.status: row.n for row in Subscription.select(
        Subscription.status, fn.COUNT(Subscription.id).alias("n")).group_by(Subscription.status)})
    months = Payment.select(fn.COUNT(Payment.id), fn.COALESCE(fn.SUM(Payment.stars), 0)).where(
        Payment.subscription_id.is_null(False) & (Payment.status == PaymentStatus.PAID)).tuples().first()
    return {**by_status, "months_paid": months[0], "stars": int(months[1])}


def referrals(since: dt.datetime | None = None) -> dict:
    """Sellers who came by an invitation, and the bonuses their first purchases earned."""
    joined = User.select().where(User.referred_by.is_null(False))
    bonuses = LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.REFERRAL)
    if since is not None:
        joined = joined.where(User.created_at >= since)
        bonuses = bonuses.where(LedgerEntry.created_at >= since)
    return {"joined": joined.count(), "bonuses": bonuses.count(),
            "inviters": User.select().where(User.referral_code.is_null(False)).count()}


def promo_codes(since: dt.datetime | None = None) -> list[PromoCode]:
    """Codes still open, and those made since ``since``: what each gave."""
    shown = PromoCode.expires_at > utcnow()
    if since is not None:
        shown |= PromoCode.created_at >= since
    return list(PromoCode.select().where(shown).order_by(PromoCode.created_at.desc()))


#: How many of the latest operator actions ``stats`` lists.
OPERATOR_ACTIONS_SHOWN = 10
#: How much of a broadcast's text its line quotes.
BROADCAST_PREVIEW_CHARS = 60


def operator_actions(limit: int = OPERATOR_ACTIONS_SHOWN) -> list[dict]:
    """The latest operator actions, newest first: who, when, what, why.

    Credits an operator moved (grants, /refund, a report's refund or free re-run)
    are ledger rows whose reason starts with ``admin <id>``; a report dismissed
    moves nothing and a broadcast moves no credits, so those come from their own
    tables.  ``seller`` is None for an action on no one seller (a broadcast)."""
    entries = (LedgerEntry.select().where(LedgerEntry.reason.startswith("admin "))
               .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit))
    actions = [{"at": entry.created_at, "seller": entry.user_id, "kind": entry.kind, "amount": entry.amount,
                "reason": entry.reason} for entry in entries]
    dismissed = (Report.select().where(Report.status == ReportStatus.DISMISSED)
                 .order_by(Report.resolved_at.desc()).limit(limit))
    actions += [{"at": report.resolved_at, "seller": report.user_id, "kind": "dismiss", "amount": 0,
                 "reason": f"admin {report.resolved_by} via report: #{report.id} {report.reason} on job "
                           f"{report.job_id}, dismissed"} for report in dismissed]
    sent = (Broadcast.select().where(Broadcast.status != BroadcastStatus.DRAFT)
            .order_by(Broadcast.created_at.desc()).limit(limit))
    actions += [{"at": broadcast.confirmed_at or broadcast.created_at, "seller": None, "kind": "broadcast",
                 "amount": 0, "reason": _broadcast_line(broadcast)} for broadcast in sent]
    actions.sort(key=lambda action: action["at"], reverse=True)
    return [{**action, "at": f"{action['at']:%Y-%m-%d %H:%M:%S}"} for action in actions[:limit]]


def _broadcast_line(broadcast: Broadcast) -> str:
    preview = one_line(broadcast.text, BROADCAST_PREVIEW_CHARS)
    return (f"admin {broadcast.admin_id} via /broadcast #{broadcast.id} ({broadcast.status}: sent {broadcast.sent} "
            f"of {broadcast.total}, blocked {broadcast.blocked}, failed {broadcast.failed}): {preview}")
