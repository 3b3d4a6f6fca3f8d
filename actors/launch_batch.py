"""A batch's waiting jobs started as the seller's in-flight cap frees (issue 21).

Sent by the bot once the batch is made, again as each of its jobs ends, and by
the watchdog for a batch whose waiting jobs nobody looked after.  Starting a job
is letting go of its wait, once (:func:`neurocards.jobs.batches.let_go`), then
its first message; the jobs are paid for already, so this never expires.
"""

from __future__ import annotations

from neurocards import users
from neurocards.dispatch import ActorName
from neurocards.errors import Kind
from neurocards.jobs import batches
from neurocards.models import Batch

from . import context, declare

_settings = context.settings


#: How long one launch may hold the seller's launch lock.
LOCK_S = 30


@declare.refund_path(time_limit_s=60)
def launch_batch(batch_id: int) -> None:
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is None:
        return
    if users.is_blocked(batch.user_id):  # nobody to send them to: not made, refunded
        for job in batches.waiting_jobs(batch_id):
            context.send(ActorName.FAIL_JOB, str(job.id), Kind.USER.value, "telegram_blocked",
                         "the seller blocked the bot before this batch job's turn")
        return
    lock = context.redis.lock(f"neurocards:batch-launch:{batch.user_id}", timeout=LOCK_S, blocking_timeout=5)
    if not lock.acquire():
        declare.defer(delay_s=1.0)  # another launch for this seller counts the slots now
        return
    try:
        for job in batches.let_go(batch_id, _settings.telegram.max_jobs_in_flight):
            context.send(ActorName.ENHANCE_PROMPT, str(job.id))
    finally:
        lock.release()


def after_job_ended(job) -> None:
    """One of a batch's jobs ended: the next may start, and the summary moves on."""
    if job is not None and job.batch is not None:
        context.send(ActorName.LAUNCH_BATCH, job.batch)
        context.send(ActorName.SHOW_BATCH, job.batch)
