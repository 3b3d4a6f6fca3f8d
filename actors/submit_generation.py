"""Stage 2: create the KIE image-to-video task and schedule the first poll.

Creating a task costs money at KIE, so it happens once per attempt: the Redis
delivery that claims ``submit_claim`` is the only one that creates, and the
claim is given back when the create fails, for the retry to take.
"""

from __future__ import annotations

import random

from neurocards import jobs
from neurocards.budgets import try_acquire
from neurocards.dispatch import ActorName
from neurocards.errors import PipelineError
from neurocards.jobs import Claim
from neurocards.media import local_photo
from neurocards.models import Job, JobStatus, utcnow
from neurocards.pipeline import current_delivery_id, current_message_id
from neurocards.storage import photo_mime_type

from . import context, declare

_settings = context.settings

#: KIE allows 20 creates per 10 s; a submit refused a slot waits a random part of
#: that window, so many jobs do not retry the budget in lockstep.
CREATE_WINDOW_S = 10.0


@declare.stage(time_limit_s=_settings.pipeline.submit_time_limit_s)
def submit_generation(job_id: str) -> None:
    job = jobs.get_job(job_id)
    if job is None or job.status != JobStatus.GENERATING:
        return
    if job.kie_task_id:
        if job.moved_by_message == current_message_id():  # submitted by this message before an interruption
            _schedule_first_poll(job)
        return
    if job.kie_attempts >= _settings.kie.max_attempts:
        raise PipelineError("generation_timeout", f"{job.kie_attempts} KIE tasks did not give a video")
    delivery_id = current_delivery_id()
    if not jobs.claim(job.id, JobStatus.GENERATING, Claim.SUBMIT, delivery_id, where=Job.kie_task_id == ""):
        return  # another delivery of this job's submit holds the claim
    if not try_acquire(context.budgets.kie_create()):
        jobs.release(job.id, Claim.SUBMIT, delivery_id)
        declare.defer(delay_s=random.uniform(1.0, CREATE_WINDOW_S))
        return

    try:
        task_id = _create_task(job)
    except BaseException:  # give the claim back, so this message's retry can take it
        jobs.release(job.id, Claim.SUBMIT, delivery_id)
        raise
    submitted = jobs.update_in_state(
        job.id,
        JobStatus.GENERATING,
        where=Job.submit_claim == delivery_id,
        kie_task_id=task_id,
        submit_claim="",
        kie_attempts=Job.kie_attempts + 1,
        kie_submitted_at=utcnow(),
        moved_by_message=current_message_id(),
    )
    if submitted:
        _schedule_first_poll(job)


def _schedule_first_poll(job: Job) -> None:
    context.send(ActorName.POLL_GENERATION, str(job.id), job.poll_count, delay_s=_settings.kie.poll_first_s)


def _create_task(job: Job) -> str:
    """Upload the seller's photo to KIE's file API (the Telegram file URL holds the
    bot token and never leaves us), then create the task."""
    photo = local_photo(context, job)
    with context.metrics.external_call("kie", "upload"):
        image_url = context.kie.upload_image(photo.read_bytes(), f"{job.id}{photo.suffix or '.jpg'}",
                                             photo_mime_type(photo))
    with context.metrics.external_call("kie", "create"):
        return context.kie.create_task(
            model=_settings.kie.model,
            prompt=job.prompt,
            image_url=image_url,
            aspect_ratio=_settings.kie.aspect_ratio,
            callback_url=callback_url(job),
        )


def callback_url(job: Job) -> str | None:
    """Where KIE should report this task: the bot's web app, with the job's secret."""
    base = _settings.kie.callback_base_url.rstrip("/")
    return f"{base}/kie/callback/{job.id}/{job.callback_secret}" if base else None
