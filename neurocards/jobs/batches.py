"""Batches (issue 21): several videos confirmed at once — an album of different
products, or several looks of one product.

Each video is a normal job (its own status line, refund, report button).  All of
a batch's jobs are made and debited in one transaction: every debit, or none
(the balance short of the total refuses them all).  They are made *waiting*
(``batch_waiting``) and let go by :func:`let_go` as the seller's in-flight cap
frees, so a batch queues behind itself and never takes more of the pipeline
than a seller's single videos would; the worker lets the next go as each ends,
and the watchdog does for a batch whose message was lost.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

from ..db import database, is_postgres
from ..models import ACTIVE_STATUSES, Batch, Job, JobStatus, User, utcnow
from ..money import credits
from ..money.credits import InsufficientCredits
from . import photos
from .state_machine import prompt_fields

__all__ = ["BatchJob", "Progress", "MAX_BATCH", "start_batch", "let_go", "progress", "batch_jobs",
           "remember_summary", "waiting_jobs"]

#: The most videos one batch makes (an album holds at most 10 photos).
MAX_BATCH = 10


@dataclasses.dataclass(frozen=True)
class BatchJob:
    """One video of a batch: what the job is made from."""

    job_id: uuid.UUID
    product_info: str
    photo_path: str
    photo_file_id: str = ""
    more_photos: Sequence[photos.Photo] = ()
    style: str = ""
    brief: str = ""
    written: object = None  # its prompt, when written before the charge (a ``Written``)


@dataclasses.dataclass(frozen=True)
class Progress:
    size: int
    done: int
    failed: int

    @property
    def ended(self) -> bool:
        return self.done + self.failed >= self.size


def start_batch(*, key: str, user_id: int, chat_id: int, language: str, videos: Sequence[BatchJob], price: int,
                tier: str, model: str, aspect_ratio: str, preset: str) -> tuple[Batch, list[Job], bool]:
    """Make the batch and its jobs, each debited ``price``, in one transaction; the
    batch, its jobs and whether this call made them (a confirmation sent twice
    makes it once).  Raises :class:`InsufficientCredits` with nothing written
    when the balance can't cover them all."""
    if not 0 < len(videos) <= MAX_BATCH:
        raise ValueError(f"a batch makes 1 to {MAX_BATCH} videos, not {len(videos)}")
    with database.atomic():
        if is_postgres():  # serialise a seller's starts, as jobs.start_job does (a twin confirmation waits here)
            User.select(User.id).where(User.id == user_id).for_update().execute()
        existing = Batch.get_or_none(Batch.key == key)
        if existing is not None:
            return existing, batch_jobs(existing.id), False
        balance = credits.balance_of(user_id)
        if balance < price * len(videos):
            raise InsufficientCredits(user_id, balance, price * len(videos))
        batch = Batch.create(user=user_id, key=key, chat_id=chat_id, language=language, size=len(videos))
        made = []
        for video in videos:
            job = Job.create(
                id=video.job_id, user=user_id, chat_id=chat_id, product_info=video.product_info,
                language=language, photo_path=video.photo_path, photo_file_id=video.photo_file_id,
                photo_count=1 + len(video.more_photos[: photos.MAX_PHOTOS - 1]), tier=tier, model=model,
                aspect_ratio=aspect_ratio, preset=preset, price=price, style=video.style, brief=video.brief,
                batch=batch.id, batch_waiting=True, callback_secret=uuid.uuid4().hex,
                **prompt_fields(video.written),
            )
            photos.add(job, video.more_photos)
            credits.debit_job(job, price)  # each its own debit, all in this transaction
            made.append(job)
    return batch, made, True


def made(key: str) -> bool:
    """Whether the batch confirmed as ``key`` is made already."""
    return Batch.select().where(Batch.key == key).exists()


def remember_summary(batch_id: int, message_id: int) -> None:
    Batch.update(summary_message_id=message_id).where(Batch.id == batch_id).execute()


def batch_jobs(batch_id: int) -> list[Job]:
    return list(Job.select().where(Job.batch == batch_id).order_by(Job.created_at, Job.id))


def let_go(batch_id: int, max_in_flight: int) -> list[Job]:
    """The batch's waiting jobs that may start now: as many as the seller's in-flight
    cap has room for, beside their jobs already running, in the batch's order.  Each
    is let go once (a conditional write), its ``created_at`` then (its time in the
    pipeline starts there); the ones still waiting are touched, so the watchdog sees
    a batch being looked after.  The caller holds the seller's launch lock: two
    batches' ends at once must not both count the same free slots."""
    batch = Batch.get_by_id(batch_id)
    running = Job.select().where((Job.user == batch.user_id) & Job.status.in_(ACTIVE_STATUSES)
                                 & (Job.batch_waiting == False)).count()  # noqa: E712  (peewee's SQL)
    waiting = list(Job.select().where((Job.batch == batch_id) & (Job.batch_waiting == True)  # noqa: E712
                                      & (Job.status == JobStatus.CREATED)).order_by(Job.created_at, Job.id))
    started = []
    for job in waiting[: max(0, max_in_flight - running)]:
        now = utcnow()  # its clock (deadline, ETA, end-to-end time) starts now: the wait was the batch's
        if Job.update(batch_waiting=False, created_at=now, updated_at=now).where(
                (Job.id == job.id) & (Job.batch_waiting == True)).execute():  # noqa: E712
            started.append(job)
    still = [job.id for job in waiting if job not in started]
    if still:
        Job.update(updated_at=utcnow()).where(Job.id.in_(still)).execute()
    return started


def waiting_jobs(batch_id: int) -> list[Job]:
    return list(Job.select().where((Job.batch == batch_id) & (Job.batch_waiting == True)))  # noqa: E712


def progress(batch_id: int) -> Progress:
    batch = Batch.get_by_id(batch_id)
    statuses = [job.status for job in Job.select(Job.status).where(Job.batch == batch_id)]
    return Progress(batch.size, statuses.count(JobStatus.DONE), statuses.count(JobStatus.FAILED))
