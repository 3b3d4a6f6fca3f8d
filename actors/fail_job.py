"""The refund path, part one: fail a job and refund its credit — once, however
many workers race to do it — then have the seller told.  The dead-letter
middleware sends it when a pipeline message leaves for good.

It never expires and retries every failure but one only the seller can change,
for as long as it takes: a refund must land when the database comes back.

A job whose video is being sent (a delivery holds its send claim: an upload in
flight, the watchdog's resend, a stale duplicate) is not failed: this message
comes back every :data:`SEND_WAIT_S` until the sender has decided — the job
done (nothing to refund) or the claim given back (failed now).
"""

from __future__ import annotations

from neurocards import jobs, users
from neurocards.dispatch import ActorName
from neurocards.errors import Failure, Kind
from neurocards.jobs import sent_videos
from neurocards.logs import job_logger

from . import context, declare
from .launch_batch import after_job_ended

#: How often a job whose video is being sent is looked at again.
SEND_WAIT_S = 2.0


@declare.refund_path(time_limit_s=60)
def fail_job(job_id: str, kind: str, error_class: str, detail: str = "") -> None:
    if sent_videos.find(context.redis, job_id) is not None:
        # the seller has the video (its delivery died recording it): record it, refund nothing
        job_logger(job_id).warning("not failed (%s): its video is in the chat; recording the delivery", error_class)
        context.send(ActorName.DELIVER_VIDEO, job_id)
        return
    job = jobs.get_job(job_id)
    if job is None:
        return
    if error_class == "telegram_blocked":
        users.mark_blocked(job.user_id)
    try:
        refund = jobs.fail_job(job.id, Failure(Kind(kind), error_class, detail))
    except jobs.SendInFlight:
        job_logger(job_id).info("not failed yet (%s): its video is being sent", error_class)
        declare.defer(delay_s=SEND_WAIT_S)
        return
    if refund is not None:
        job_logger(job_id).warning("failed (%s), credit refunded", error_class)
        context.metrics.credits_moved("refund", refund.amount)
        ended = jobs.get_job(job_id)
        context.metrics.job_finished(ended)
        after_job_ended(ended)
    # Sent on every delivery of this message: the refund above is once per job,
    # and notify_failure tells the seller once (failure_notified_at).
    context.send(ActorName.NOTIFY_FAILURE, job_id)
