"""The ledger invariants of DESIGN §4, checked against the database.

- every seller's balance equals the sum of their ledger amounts;
- every failed job has exactly one refund; no done job has one (the pipeline's
  ``refund``: an operator's ``goodwill_refund`` of a delivered job, after
  "Report a problem", is its own kind — once per job, only for a done job,
  only with the report that asked for it);
- no job has two debits, and no refund gives back more than was debited;
- every resolved report did what it says: a refunded one has its goodwill
  refund, a re-run one a job made free of charge;
- no job has both a delivered video and a refund (a video delivered after its
  job failed reverses the refund: ``refund_reversal``);
- every purchase matches one Stars payment (same seller, same credits), every
  paid payment was credited once — not twice, not never — and a refunded
  payment took back exactly what it bought (a paid one nothing); every void of
  a take-back (Telegram refused the refund) has its take-back, of the same size.

- every promo code's uses are its redemptions in the ledger (one per seller,
  each of the code's credits), never more than its ``max_uses``;
- every month of a subscription is a payment of its seller's, credited once
  (above), none after the seller cancelled it with us; the months a plan
  counts are its paid payments; every expiry of unused plan credits takes
  credits (never gives) from the plan's seller;
- every referral bonus went to the seller's inviter for the seller's first
  purchase (a paid or refunded payment of theirs, none before it), and one
  whose purchase was refunded was taken back; every take-back has its bonus.

``checked`` also counts the payments the reconciler recovered: charges
Telegram took whose update was never recorded, credited from its own list.
"""

from __future__ import annotations

from peewee import JOIN, fn

from ..models import (
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
    User,
)
from .payments import TAKE_BACK_PREFIX, VOID_PREFIX

__all__ = ["audit"]


def audit() -> dict:
    """Return ``{"ok": bool, "checked": {...}, "problems": [...]}``."""
    problems: list[dict] = []
    problems += _balance_mismatches()
    problems += _refund_problems()
    problems += _debit_problems()
    problems += _payment_problems()
    problems += _goodwill_problems()
    problems += _promo_problems()
    problems += _referral_problems()
    problems += _subscription_problems()
    return {
        "ok": not problems,
        "checked": {"users": User.select().count(), "jobs": Job.select().count(),
                    "payments": Payment.select().count(),
                    "payments_recovered": Payment.select().where(Payment.recovered_at.is_null(False)).count(),
                    "promo_redemptions": LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.PROMO).count(),
                    "referral_bonuses": LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.REFERRAL).count(),
                    "subscriptions": Subscription.select().count()},
        "problems": problems,
    }


def _balance_mismatches() -> list[dict]:
    total = fn.COALESCE(fn.SUM(LedgerEntry.amount), 0)
    rows = (
        User.select(User.id, User.balance, total.alias("ledger"))
        .join(LedgerEntry, JOIN.LEFT_OUTER, on=(LedgerEntry.user == User.id))
        .group_by(User.id, User.balance)
        .having(User.balance != total)
        .order_by(User.id)
        .dicts()
    )
    problems = [
        {"problem": "balance_mismatch", "user": row["id"], "balance": row["balance"], "ledger_sum": row["ledger"]}
        for row in rows
    ]
    negative = User.select(User.id, User.balance).where(User.balance < 0).dicts()
    problems += [{"problem": "negative_balance", "user": r["id"], "balance": r["balance"]} for r in negative]
    return problems


def _count_by_job(kind: LedgerKind):
    return (
        LedgerEntry.select(LedgerEntry.job, fn.COUNT(LedgerEntry.id).alias("n"), fn.SUM(LedgerEntry.amount).alias("total"))
        .where((LedgerEntry.kind == kind) & LedgerEntry.job.is_null(False))
        .group_by(LedgerEntry.job)
    )


def _refund_problems() -> list[dict]:
    refunds = {str(row.job_id): (row.n, row.total) for row in _count_by_job(LedgerKind.REFUND)}
    debits = {str(row.job_id): (row.n, row.total) for row in _count_by_job(LedgerKind.DEBIT)}
    reversed_ = {str(row.job_id) for row in _count_by_job(LedgerKind.REFUND_REVERSAL)}
    problems = []
    ended = Job.select(Job.id, Job.status, Job.user, Job.video_message_id).where(
        Job.status.in_([JobStatus.FAILED, JobStatus.DONE]) | Job.video_message_id.is_null(False))
    for job in ended:
        job_id = str(job.id)
        n_refunds, refunded = refunds.get(job_id, (0, 0))
        standing = n_refunds and job_id not in reversed_  # a refund not taken back
        if job.status == JobStatus.FAILED and n_refunds != 1 and job_id in debits:
            problems.append({"problem": "failed_job_refunds", "job": job_id, "user": job.user_id, "refunds": n_refunds})
        if job.status == JobStatus.DONE and standing:
            problems.append({"problem": "done_job_refunded", "job": job_id, "user": job.user_id, "refunds": n_refunds})
        elif job.video_message_id is not None and standing:
            problems.append({"problem": "delivered_job_refunded", "job": job_id, "user": job.user_id,
                             "status": job.status, "refunds": n_refunds})
    for job_id in reversed_ - refunds.keys():
        problems.append({"problem": "reversal_without_refund", "job": job_id})
    goodwill = {str(row.job_id): row.total for row in _count_by_job(LedgerKind.GOODWILL_REFUND)}
    for job_id in refunds.keys() | goodwill.keys():
        refunded = refunds.get(job_id, (0, 0))[1] + goodwill.get(job_id, 0)
        debited = -debits.get(job_id, (0, 0))[1]
        if refunded > debited:
            problems.append({"problem": "refund_exceeds_debit", "job": job_id, "refunded": refunded, "debited": debited})
    return problems


def _debit_problems() -> list[dict]:
    return [
        {"problem": "job_debited_twice", "job": str(row.job_id), "debits": row.n}
        for row in _count_by_job(LedgerKind.DEBIT)
        if row.n > 1
    ]


def _payment_problems() -> list[dict]:
    payments = {payment.telegram_charge_id: payment for payment in Payment.select()}
    purchases: dict[str, list[LedgerEntry]] = {}
    for entry in LedgerEntry.select().where(LedgerEntry.kind.in_([LedgerKind.PURCHASE, LedgerKind.SUBSCRIPTION])):
        purchases.setdefault(entry.key.split(":", 1)[1], []).append(entry)  # a pack, or a month of a plan
    taken_back: dict[str, int] = {}
    refund_rows = {entry.key: entry for entry in
                   LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.PURCHASE_REFUND)}
    problems = []
    for key, entry in refund_rows.items():
        charge = entry.key.split(":", 1)[1].rsplit(":", 1)[0]
        taken_back[charge] = taken_back.get(charge, 0) - entry.amount
        if key.startswith(VOID_PREFIX):
            taken = refund_rows.get(TAKE_BACK_PREFIX + key.removeprefix(VOID_PREFIX))
            if taken is None or taken.amount != -entry.amount or taken.user_id != entry.user_id:
                problems.append({"problem": "void_without_take_back", "charge": charge, "key": key})
    for charge, entries in purchases.items():
        payment = payments.get(charge)
        if payment is None or any((e.user_id, e.amount) != (payment.user_id, payment.credits) for e in entries):
            problems.append({"problem": "purchase_without_matching_payment", "charge": charge})
    for charge, payment in payments.items():
        credited = len(purchases.get(charge, []))
        if payment.status != PaymentStatus.UNMATCHED and payment.credits and credited == 0:
            problems.append({"problem": "charge_never_credited", "charge": charge})
        elif credited > 1:
            problems.append({"problem": "charge_credited_twice", "charge": charge, "purchases": credited})
        expected = payment.credits if payment.status == PaymentStatus.REFUNDED else 0
        if taken_back.get(charge, 0) != expected:
            problems.append({"problem": "refund_mismatch", "charge": charge, "taken_back": taken_back.get(charge, 0),
                             "expected": expected})
    return problems


def _goodwill_problems() -> list[dict]:
    """Operators' refunds of delivered jobs, and what resolved reports say they did."""
    problems = []
    goodwill = (
        LedgerEntry.select(LedgerEntry.job, Job.status, fn.COUNT(LedgerEntry.id).alias("n"))
        .join(Job, on=(LedgerEntry.job == Job.id))
        .where(LedgerEntry.kind == LedgerKind.GOODWILL_REFUND)
        .group_by(LedgerEntry.job, Job.status)
    )
    rows, statuses = {}, {}
    for row in goodwill.objects():
        rows[str(row.job_id)], statuses[str(row.job_id)] = row.n, row.status
    refunded_reports = {str(report.job_id) for report in
                        Report.select(Report.job).where(Report.status == ReportStatus.REFUNDED)}
    for job_id, n in rows.items():
        if n > 1:
            problems.append({"problem": "goodwill_refunded_twice", "job": job_id, "refunds": n})
        if statuses.get(job_id) != JobStatus.DONE:
            problems.append({"problem": "goodwill_refund_of_undelivered_job", "job": job_id,
                             "status": statuses.get(job_id)})
        if job_id not in refunded_reports:
            problems.append({"problem": "goodwill_refund_without_report", "job": job_id})
    for job_id in refunded_reports - rows.keys():
        problems.append({"problem": "refunded_report_without_refund", "job": job_id})
    for report in Report.select().where(Report.status == ReportStatus.RERUN):
        debit = LedgerEntry.get_or_none(LedgerEntry.key == f"debit:{report.rerun_job_id}")
        if report.rerun_job_id is None or debit is None or debit.amount != 0:
            problems.append({"problem": "rerun_not_free", "report": report.id, "job": str(report.rerun_job_id)})
    return problems


def _promo_problems() -> list[dict]:
    """Each code's uses against its redemptions in the ledger (``promo:<code>:<seller>``)."""
    problems = []
    redemptions: dict[str, list[LedgerEntry]] = {}
    for entry in LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.PROMO):
        _, code, _seller = entry.key.split(":", 2)
        redemptions.setdefault(code, []).append(entry)
    promos = {promo.code: promo for promo in PromoCode.select()}
    for code in redemptions.keys() - promos.keys():
        problems.append({"problem": "promo_without_code", "code": code, "redemptions": len(redemptions[code])})
    for code, promo in promos.items():
        entries = redemptions.get(code, [])
        if len(entries) != promo.uses:
            problems.append({"problem": "promo_uses_mismatch", "code": code, "uses": promo.uses,
                             "redemptions": len(entries)})
        if len(entries) > promo.max_uses:
            problems.append({"problem": "promo_over_limit", "code": code, "max_uses": promo.max_uses,
                             "redemptions": len(entries)})
        wrong = [entry.user_id for entry in entries if entry.amount != promo.credits]
        if wrong:
            problems.append({"problem": "promo_amount_mismatch", "code": code, "users": wrong})
    return problems


#: Two first purchases of one seller this close together raced (two bot instances):
#: whichever committed first earned the bonus, not necessarily the lower id.
CONCURRENT_S = 5.0


def _among_first(first: Payment, charge_id: str) -> bool:
    if first.telegram_charge_id == charge_id:
        return True
    paid = Payment.get_or_none((Payment.telegram_charge_id == charge_id) & (Payment.user == first.user_id))
    return paid is not None and (paid.created_at - first.created_at).total_seconds() <= CONCURRENT_S


def _referral_problems() -> list[dict]:
    """Inviters' bonuses (``referral:<invited seller>``, reason: the charge id)
    against the invited sellers' first purchases, and their take-backs."""
    problems = []
    bonuses = {entry.key.removeprefix("referral:"): entry
               for entry in LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.REFERRAL)}
    undone = {entry.key.removeprefix("referral_undo:"): entry
              for entry in LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.REFERRAL_UNDO)}
    bought = (PaymentStatus.PAID, PaymentStatus.REFUNDED)
    for invited, bonus in bonuses.items():
        seller = User.get_or_none(User.id == int(invited))
        first = (Payment.select().where((Payment.user == int(invited)) & Payment.status.in_(bought))
                 .order_by(Payment.id).first())
        if seller is None or seller.referred_by != bonus.user_id or bonus.amount <= 0:
            problems.append({"problem": "referral_bonus_not_to_inviter", "invited": invited, "user": bonus.user_id})
        elif first is None or not _among_first(first, bonus.reason):
            problems.append({"problem": "referral_bonus_not_first_purchase", "invited": invited,
                             "charge": bonus.reason})
        elif first.status == PaymentStatus.REFUNDED and invited not in undone:
            problems.append({"problem": "referral_bonus_of_refunded_purchase", "invited": invited,
                             "user": bonus.user_id, "charge": bonus.reason})
    for invited, entry in undone.items():
        bonus = bonuses.get(invited)
        if bonus is None or (bonus.user_id, bonus.amount) != (entry.user_id, -entry.amount):
            problems.append({"problem": "referral_undo_without_bonus", "invited": invited})
    return problems


def _subscription_problems() -> list[dict]:
    """Plans against their months' payments and ledger rows."""
    problems = []
    plans = {subscription.id: subscription for subscription in Subscription.select()}
    months: dict[int, int] = {}
    for payment in Payment.select().where(Payment.subscription_id.is_null(False)):
        plan = plans.get(payment.subscription_id)
        if plan is None or plan.user_id != payment.user_id:
            problems.append({"problem": "subscription_payment_without_plan", "charge": payment.telegram_charge_id})
            continue
        if payment.status != PaymentStatus.UNMATCHED:
            months[plan.id] = months.get(plan.id, 0) + 1
        if plan.cancelled_at is not None and payment.created_at > plan.cancelled_at and payment.credits:
            problems.append({"problem": "subscription_credited_after_cancel", "subscription": plan.id,
                             "charge": payment.telegram_charge_id})
    for plan in plans.values():
        if months.get(plan.id, 0) != plan.months:
            problems.append({"problem": "subscription_months_mismatch", "subscription": plan.id,
                             "months": plan.months, "paid": months.get(plan.id, 0)})
    for entry in LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.SUBSCRIPTION_EXPIRY):
        plan = plans.get(int(entry.reason.removeprefix("subscription ") or 0)) if entry.reason.startswith(
            "subscription ") else None
        if plan is None or plan.user_id != entry.user_id or entry.amount >= 0:
            problems.append({"problem": "subscription_expiry_without_plan", "key": entry.key})
    return problems
