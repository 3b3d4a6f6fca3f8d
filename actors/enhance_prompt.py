"""Stage 1: an OpenAI vision model writes the video prompt from photo + product info."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from neurocards import jobs, services
from neurocards.errors import Kind, PipelineError, classify
from neurocards.logs import job_logger
from neurocards.metrics import external_call
from neurocards.models import JobStatus
from neurocards.pipeline import current_retries, job_to_work_on, message_token, pipeline_actor
from neurocards.settings import get_settings

_settings = get_settings()


@pipeline_actor(time_limit_s=_settings.pipeline.enhance_time_limit_s)
def enhance_prompt(job_id: str) -> None:
    job = job_to_work_on(job_id, (JobStatus.CREATED, JobStatus.ENHANCING),
                         moved_to=JobStatus.GENERATING, next_actor=submit_generation)
    if job is None:
        return
    token = message_token()
    jobs.advance(job.id, JobStatus.CREATED, JobStatus.ENHANCING, token)
    notify_user.send(job_id, "progress")

    prompt = _write_prompt(job)
    if jobs.advance(job.id, JobStatus.ENHANCING, JobStatus.GENERATING, token, prompt=prompt):
        submit_generation.send(job_id)
        notify_user.send(job_id, "progress")


def _write_prompt(job) -> str:
    """The model's prompt; the template prompt when OpenAI is out of reach for good
    (setting ``pipeline.openai_fallback``), so a seller still gets a video."""
    from neurocards.clients.prompt_writer import fallback_prompt

    photo = Path(job.photo_path)
    if not job.photo_path or not photo.is_file():
        raise PipelineError("photo_missing", f"photo {job.photo_path!r} is not in storage")
    mime_type = mimetypes.guess_type(photo.name)[0] or "image/jpeg"
    try:
        with external_call("openai", "write_prompt"):
            return services.prompt_writer().write_prompt(photo.read_bytes(), mime_type, job.product_info)
    except Exception as exc:
        failure = classify(exc)
        last_try = current_retries() >= _settings.pipeline.max_retries
        fallback_allowed = _settings.pipeline.openai_fallback and failure.kind is not Kind.USER
        if fallback_allowed and (failure.kind is Kind.SYSTEM or last_try):
            job_logger(job.id).warning("prompt writer failed (%s); using the template prompt", failure.error_class)
            return fallback_prompt(job.product_info)
        raise


from .notify_user import notify_user  # noqa: E402
from .submit_generation import submit_generation  # noqa: E402
