""""Report a problem" on a delivered video, and an operator's one-tap answer
(issue 14); it knows nothing about Telegram.

A seller reports a delivered job once (one report per job).  An operator
resolves it once, whoever taps first — each resolution is a conditional update
``WHERE id = ? AND status = 'open'`` in the same transaction as what it does:

- **refund**: the job's price goes back as its own ledger kind,
  ``goodwill_refund`` under the key ``goodwill_refund:<job>``, so the audit
  still knows the pipeline never refunded a delivered job;
- **re-run free**: a new job (the parent's photo, description, tier and format)
  with price 0 — its zero debit, with the operator's reason, is its ledger
  trail, and should it fail its refund is zero too;
- **dismiss**: nothing moves.

Operators' reasons read ``admin <id> via report: #<report> <reason>``.
"""

from __future__ import annotations

import dataclasses
import uuid

from ..db import database
from ..models import Job, JobStatus, LedgerEntry, LedgerKind, Report, ReportReason, ReportStatus, utcnow
from ..money import credits
from . import formats
from . import state_machine as jobs

__all__ = ["NotReportable", "NothingToRefund", "Resolution", "open_report", "get_report", "refund", "rerun",
           "dismiss", "RERUN_IDS"]

#: Namespace of the re-run jobs' ids: one report, one re-run, however often it is tapped.
RERUN_IDS = uuid.UUID("0e3c55d2-77a0-4d44-9d7b-3f0b1c6e2a41")
#: How much of the seller's own words a report keeps.
MAX_COMMENT_CHARS = 500


class NotReportable(Exception):
    """Only a delivered video can be reported."""


class NothingToRefund(Exception):
    """The job cost nothing (an earlier free re-run): there is nothing to give back."""


@dataclasses.dataclass(frozen=True)
class Resolution:
    report: Report  # as it stands after this call
    resolved: bool  # True when this call resolved it; False: it had been resolved before
    credits: int = 0  # given back (refund)
    job: Job | None = None  # the free re-run


def open_report(job: Job, reason: ReportReason, comment: str = "") -> tuple[Report, bool]:
    """The job's report, made now (True) or earlier (False)."""
    if job.status != JobStatus.DONE:
        raise NotReportable(f"job {job.id} is {job.status}")
    existing = Report.get_or_none(Report.job == job.id)
    if existing is not None:
        return existing, False
    with database.atomic():
        report, created = Report.get_or_create(
            job=job.id, defaults={"user": job.user_id, "reason": reason, "comment": comment[:MAX_COMMENT_CHARS]})
    return report, created


def get_report(report_id: int) -> Report | None:
    return Report.get_or_none(Report.id == report_id)


def _why(report: Report, admin_id: int) -> str:
    return f"admin {admin_id} via report: #{report.id} {report.reason}"


def _resolve(report_id: int, admin_id: int, status: ReportStatus, **fields) -> bool:
    """Mark the report resolved, if it is still open; True when this call did."""
    return (
        Report.update(status=status, resolved_by=admin_id, resolved_at=utcnow(), **fields)
        .where((Report.id == report_id) & (Report.status == ReportStatus.OPEN))
        .execute()
        == 1
    )


def refund(report_id: int, admin_id: int) -> Resolution:
    """Give the reported job's price back, once.  Raises :class:`NothingToRefund`
    (nothing written) when the job was free."""
    report = Report.get_by_id(report_id)
    debit = LedgerEntry.get_or_none(LedgerEntry.key == f"debit:{report.job_id}")
    amount = -debit.amount if debit is not None else 0
    if report.status == ReportStatus.OPEN and amount <= 0:
        raise NothingToRefund(f"job {report.job_id} cost nothing")
    with database.atomic():
        if not _resolve(report_id, admin_id, ReportStatus.REFUNDED):
            return Resolution(Report.get_by_id(report_id), resolved=False)
        credits.move(report.user_id, amount, LedgerKind.GOODWILL_REFUND, f"goodwill_refund:{report.job_id}",
                     job=report.job_id, reason=_why(report, admin_id))
    return Resolution(Report.get_by_id(report_id), resolved=True, credits=amount)


def rerun(report_id: int, admin_id: int, settings) -> Resolution:
    """Make the reported video again, free of charge (price 0), once."""
    report = Report.get_by_id(report_id)
    parent = report.job
    choice = formats.job_choice(settings, parent)
    job_id = uuid.uuid5(RERUN_IDS, str(report.id))
    with database.atomic():  # the report first: a second tap waits on its row, then finds it resolved
        if not _resolve(report_id, admin_id, ReportStatus.RERUN):
            return Resolution(Report.get_by_id(report_id), resolved=False)
        job, _ = jobs.start_job(
            user_id=parent.user_id, chat_id=parent.chat_id, product_info=parent.product_info,
            language=parent.language, price=0, max_in_flight=1_000_000,  # an operator's decision is not throttled
            photo_path=parent.photo_path, photo_file_id=parent.photo_file_id, parent=parent, job_id=job_id,
            tier=choice.tier.name, model=choice.model, aspect_ratio=choice.aspect_ratio,
            preset=choice.preset, debit_reason=f"{_why(report, admin_id)}: free re-run of job {parent.id}",
        )
        Report.update(rerun_job=job.id).where(Report.id == report_id).execute()
    return Resolution(Report.get_by_id(report_id), resolved=True, job=job)


def dismiss(report_id: int, admin_id: int) -> Resolution:
    resolved = _resolve(report_id, admin_id, ReportStatus.DISMISSED)
    return Resolution(Report.get_by_id(report_id), resolved=resolved)
