"""Stage 2: create the KIE image-to-video task and schedule the first poll."""

from __future__ import annotations

import random

from pathlib import Path

from neurocards import jobs, limits, services
from neurocards.errors import PipelineError
from neurocards.metrics import external_call
from neurocards.models import Job, JobStatus, utcnow
from neurocards.pipeline import defer, delivery_token, message_token, pipeline_actor
from neurocards.settings import get_settings

_settings = get_settings()

#: KIE allows 20 creates per 10 s; a submit refused a slot waits a random part of
#: that window, so many jobs do not retry the limiter in lockstep.
CREATE_WINDOW_S = 10.0


@pipeline_actor(time_limit_s=_settings.pipeline.submit_time_limit_s)
def submit_generation(job_id: str) -> None:
    job = jobs.get_job(job_id)
    token = message_token()
    if job is None or job.status != JobStatus.GENERATING:
        return
    claim = f"claim:{delivery_token()}"
    if job.kie_task_id not in ("", claim):
        if job.step_token == token:  # submitted by this message before an interruption
            poll_generation.send(job_id, job.poll_count)
        return
    if job.kie_attempts >= _settings.kie.max_attempts:
        raise PipelineError("generation_timeout", f"{job.kie_attempts} KIE tasks did not give a video")
    if not jobs.update_in_state(job.id, JobStatus.GENERATING, where=Job.kie_task_id.in_(("", claim)), kie_task_id=claim):
        return  # another delivery of this job's submit claimed it
    if not limits.try_acquire(limits.kie_create()):
        jobs.update_in_state(job.id, JobStatus.GENERATING, where=Job.kie_task_id == claim, kie_task_id="")
        defer(submit_generation, job_id, delay_s=random.uniform(1.0, CREATE_WINDOW_S))
        return

    try:
        task_id = _create_task(job)
    except BaseException:  # give the claim back, so this message's retry can take it
        jobs.update_in_state(job.id, JobStatus.GENERATING, where=Job.kie_task_id == claim, kie_task_id="")
        raise
    submitted = jobs.update_in_state(
        job.id,
        JobStatus.GENERATING,
        where=Job.kie_task_id == claim,
        kie_task_id=task_id,
        kie_attempts=Job.kie_attempts + 1,
        kie_submitted_at=utcnow(),
        step_token=token,
    )
    if submitted:
        poll_generation.send_with_options(args=(job_id, job.poll_count), delay=int(_settings.kie.poll_first_s * 1000))


def _create_task(job: Job) -> str:
    """Upload the seller's photo to KIE's file API (the Telegram file URL holds the
    bot token and never leaves us), then create the task."""
    kie = services.kie_client()
    photo = Path(job.photo_path)
    if not job.photo_path or not photo.is_file():
        raise PipelineError("photo_missing", f"photo {job.photo_path!r} is not in storage")
    with external_call("kie", "upload"):
        image_url = kie.upload_image(photo.read_bytes(), f"{job.id}{photo.suffix or '.jpg'}", _mime_type(photo))
    with external_call("kie", "create"):
        return kie.create_task(
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


def _mime_type(photo: Path) -> str:
    return {".png": "image/png", ".webp": "image/webp"}.get(photo.suffix.lower(), "image/jpeg")


from .poll_generation import poll_generation  # noqa: E402
