"""Fail a job, refund its credit and have the seller told — once, however many
workers race to do it (the dead-letter middleware sends this)."""

from __future__ import annotations

from neurocards import jobs, metrics, users
from neurocards.errors import Failure, Kind
from neurocards.logs import job_logger
from neurocards.pipeline import pipeline_actor


@pipeline_actor(time_limit_s=60, refund=False)
def fail_job(job_id: str, kind: str, error_class: str, detail: str = "") -> None:
    job = jobs.get_job(job_id)
    if job is None:
        return
    if error_class == "telegram_blocked":
        users.mark_blocked(job.user_id)
    refund = jobs.fail_job(job.id, Failure(Kind(kind), error_class, detail))
    if refund is not None:
        job_logger(job_id).warning("failed (%s), credit refunded", error_class)
        metrics.credits_moved("refund", refund.amount)
        metrics.job_finished(jobs.get_job(job_id))
    # Sent on every delivery of this message: the refund above is once per job,
    # and notify_user tells the seller once (failure_notified_at).
    notify_user.send(job_id, "failed")


from .notify_user import notify_user  # noqa: E402
