"""The job state machine (DESIGN §5); it knows nothing about HTTP.

    created -> enhancing -> generating -> downloading -> delivering -> done
    any non-final state -> failed (refund once)

Every move is a conditional update (``WHERE id = ? AND status = ?``) that also
records ``step_token``, the id of the message that made it.  Dramatiq delivers
at least once, so an actor that finds the job already moved *by its own
message* knows it was interrupted after the update and before sending the next
message, and sends it again; a job moved by any other message is left alone.
"""

from __future__ import annotations

import secrets
import uuid

from . import credits
from .db import database, is_postgres
from .errors import Failure
from .models import ACTIVE_STATUSES, Job, JobStatus, User, utcnow

__all__ = [
    "TooManyJobsInFlight",
    "start_job",
    "get_job",
    "advance",
    "update_in_state",
    "claim",
    "release",
    "fail_job",
    "jobs_in_flight",
]

#: The timestamp column stamped when a job enters each state.
STAGE_COLUMNS = {
    JobStatus.ENHANCING: "enhancing_at",
    JobStatus.GENERATING: "generating_at",
    JobStatus.DOWNLOADING: "downloading_at",
    JobStatus.DELIVERING: "delivering_at",
    JobStatus.DONE: "done_at",
    JobStatus.FAILED: "failed_at",
}


class TooManyJobsInFlight(Exception):
    def __init__(self, in_flight: int, limit: int) -> None:
        super().__init__(f"{in_flight} jobs in flight (limit {limit})")
        self.in_flight = in_flight
        self.limit = limit


def get_job(job_id) -> Job | None:
    try:
        return Job.get_or_none(Job.id == uuid.UUID(str(job_id)))
    except ValueError:
        return None


def jobs_in_flight(user_id: int) -> int:
    return Job.select().where((Job.user == user_id) & Job.status.in_(ACTIVE_STATUSES)).count()


def start_job(
    *,
    user_id: int,
    chat_id: int,
    product_info: str,
    language: str,
    price: int,
    max_in_flight: int,
    photo_path: str = "",
    photo_file_id: str = "",
    parent: Job | None = None,
    job_id: uuid.UUID | None = None,
) -> tuple[Job, bool]:
    """Create a job and debit its price in one transaction; return it and
    whether this call created it.

    Raises :class:`credits.InsufficientCredits` or :class:`TooManyJobsInFlight`
    with nothing written.  ``job_id`` makes a retried start idempotent: the
    job already created under that id is returned as it is.
    """
    job_id = job_id or uuid.uuid4()
    with database.atomic():
        existing = Job.get_or_none(Job.id == job_id)
        if existing is not None:
            return existing, False
        if is_postgres():  # serialise a seller's starts; SQLite's write lock already does
            User.select(User.id).where(User.id == user_id).for_update().execute()
        in_flight = jobs_in_flight(user_id)
        if in_flight >= max_in_flight:
            raise TooManyJobsInFlight(in_flight, max_in_flight)
        job = Job.create(
            id=job_id,
            user=user_id,
            chat_id=chat_id,
            product_info=product_info,
            language=language,
            photo_path=photo_path,
            photo_file_id=photo_file_id,
            parent=parent,
            callback_secret=secrets.token_urlsafe(24),
        )
        credits.debit_job(job, price)
    return job, True


def _stamp(status: JobStatus, fields: dict) -> dict:
    now = utcnow()
    fields = {**fields, "status": status, "updated_at": now}
    column = STAGE_COLUMNS.get(status)
    if column and column not in fields:
        fields[column] = now
    return fields


def advance(job_id, frm: JobStatus | tuple[JobStatus, ...], to: JobStatus, token: str, where=None, **fields) -> bool:
    """Move the job ``frm`` -> ``to`` if it is still in ``frm``; True when this call moved it."""
    frm = frm if isinstance(frm, tuple) else (frm,)
    condition = (Job.id == job_id) & Job.status.in_(frm)
    if where is not None:
        condition &= where
    return Job.update(**_stamp(to, {**fields, "step_token": token})).where(condition).execute() == 1


def update_in_state(job_id, status: JobStatus, where=None, **fields) -> bool:
    """Change fields of the job only while it is in ``status``."""
    condition = (Job.id == job_id) & (Job.status == status)
    if where is not None:
        condition &= where
    return Job.update(**fields, updated_at=utcnow()).where(condition).execute() == 1


def claim(job_id, status: JobStatus, stage: str, token: str) -> bool:
    """Make the delivery ``token`` the only one doing ``stage`` for this job.

    For steps with an outside effect that must not happen twice (sending the
    video, telling the seller about a failure): a duplicate message for the
    same stage finds the claim taken and does nothing, while a redelivery of
    the claiming message after a crash (same token) passes.  A failed attempt
    gives the claim back with :func:`release`, so its retry can take it.
    """
    mine = f"{stage}:{token}"
    condition = (Job.id == job_id) & (Job.status == status)
    condition &= ~Job.step_token.startswith(f"{stage}:") | (Job.step_token == mine)
    return Job.update(step_token=mine).where(condition).execute() == 1


def release(job_id, stage: str, token: str) -> None:
    """Give back a claim taken by :func:`claim`."""
    Job.update(step_token="").where((Job.id == job_id) & (Job.step_token == f"{stage}:{token}")).execute()


def fail_job(job_id, failure: Failure) -> credits.Movement | None:
    """Fail the job and refund its credit, in one transaction, once.

    The refund when this call failed the job; None when the job had already
    ended (done or failed), in which case nothing changes.
    """
    with database.atomic():
        moved = (
            Job.update(
                **_stamp(JobStatus.FAILED, {}),
                error_class=failure.error_class,
                error_detail=failure.detail[:2000],
            )
            .where((Job.id == job_id) & Job.status.in_(ACTIVE_STATUSES))
            .execute()
        )
        if not moved:
            return None
        return credits.refund_job(job_id, reason=failure.error_class)


def mark_failure_notified(job_id) -> bool:
    """Record that the seller was told about the failure; True the first time."""
    return (
        Job.update(failure_notified_at=utcnow())
        .where((Job.id == job_id) & (Job.status == JobStatus.FAILED) & Job.failure_notified_at.is_null())
        .execute()
        == 1
    )


def stage_durations(job: Job) -> dict[str, float]:
    """Seconds the job spent in each state it left, keyed by that state
    (``created`` is the wait in the queue, ``generating`` KIE's work, …); a failed
    job's last state ends at its failure.  For metrics and ``/job``."""
    order = ["created", "enhancing", "generating", "downloading", "delivering", "done", "failed"]
    stamps = [(name, getattr(job, f"{name}_at")) for name in order if getattr(job, f"{name}_at") is not None]
    return {
        state: (left - entered).total_seconds()
        for (state, entered), (_, left) in zip(stamps, stamps[1:])
        if state not in ("done", "failed")
    }

