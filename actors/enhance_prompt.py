"""Stage 1: an OpenAI vision model writes the video prompt from photo + product info."""

from __future__ import annotations

from neurocards import jobs
from neurocards.clients.prompt_writer import Image, Refused, Written, fallback_prompt
from neurocards.dispatch import ActorName
from neurocards.errors import Kind, classify
from neurocards.jobs import photos
from neurocards.jobs.pipeline import current_message_id, current_retries, job_to_work_on
from neurocards.logs import job_logger
from neurocards.media.local import local_more_photo, local_photo
from neurocards.media.storage import photo_mime_type
from neurocards.models import Job, JobStatus

from . import context, declare

_policy = context.settings.pipeline


@declare.stage(time_limit_s=_policy.enhance_time_limit_s)
def enhance_prompt(job_id: str) -> None:
    job = job_to_work_on(job_id, (JobStatus.CREATED, JobStatus.ENHANCING), moved_to=JobStatus.GENERATING,
                         send_next=lambda: context.send(ActorName.SUBMIT_GENERATION, job_id))
    if job is None:
        return
    message_id = current_message_id()
    if job.status == JobStatus.CREATED and job.prompt:  # written by the bot before the charge
        if jobs.advance(job.id, JobStatus.CREATED, JobStatus.GENERATING, message_id):
            context.metrics.cost("openai", context.settings.openai.model, context.settings.economics.openai_usd(
                job.openai_input_tokens, job.openai_output_tokens))
            context.send(ActorName.SUBMIT_GENERATION, job_id)
            context.send(ActorName.SHOW_STATUS, job_id)
        return
    jobs.advance(job.id, JobStatus.CREATED, JobStatus.ENHANCING, message_id)
    context.send(ActorName.SHOW_STATUS, job_id)

    written = _write_prompt(job)
    if jobs.advance(job.id, JobStatus.ENHANCING, JobStatus.GENERATING, message_id, prompt=written.prompt,
                    openai_input_tokens=Job.openai_input_tokens + written.input_tokens,
                    openai_output_tokens=Job.openai_output_tokens + written.output_tokens, error_detail=""):
        context.metrics.cost("openai", context.settings.openai.model,
                             context.settings.economics.openai_usd(written.input_tokens, written.output_tokens))
        context.send(ActorName.SUBMIT_GENERATION, job_id)
        context.send(ActorName.SHOW_STATUS, job_id)


def _write_prompt(job) -> Written:
    """The model's prompt; the template prompt when OpenAI is out of reach for good
    (setting ``pipeline.openai_fallback``), so a seller still gets a video."""
    photo = local_photo(context, job)
    style = context.settings.styles.find(job.style)
    try:
        more = _more_photos(job)
        with context.metrics.external_call("openai", "write_prompt"):
            return context.prompt_writer.write(photo.read_bytes(), photo_mime_type(photo), job.product_info,
                                               more_images=more, style=style.guidance if style else "",
                                               brief=job.brief, refused=_refused(job))
    except Exception as exc:
        failure = classify(exc)
        last_try = current_retries() >= _policy.max_retries
        fallback_allowed = _policy.openai_fallback and failure.kind is not Kind.USER
        if fallback_allowed and (failure.kind is Kind.SYSTEM or last_try):
            job_logger(job.id).warning("prompt writer failed (%s); using the template prompt", failure.error_class)
            return Written(fallback_prompt(job.product_info))
        raise


def _refused(job) -> Refused | None:
    """The prompt KIE refused on its content policy, and its words (a free retry)."""
    if not (job.safety_retries and job.prompt):
        return None
    return Refused(job.prompt, job.error_detail.removeprefix("kie refused: "))


def _more_photos(job) -> list[Image]:
    """The product's other photos, for the prompt model to see it from every side."""
    if job.photo_count < 2:
        return []
    paths = [local_more_photo(context, job, photo) for photo in photos.more_photos(job.id)]
    return [Image(path.read_bytes(), photo_mime_type(path)) for path in paths]


#: Free retries, with a rewritten prompt, after KIE refused one on its content policy (issue 21).
SAFETY_RETRIES = 1


def may_retry_safely(job) -> bool:
    """Whether KIE's content-policy refusal of ``job`` gets its free retry: once, and only
    with a KIE attempt left for it (else the retry could not be submitted)."""
    return job.safety_retries < SAFETY_RETRIES and job.kie_attempts < context.settings.kie.max_attempts


def rewrite_after_refusal(job, kie_message: str, where, message_id: str, **fields) -> bool:
    """Back to the prompt writer, KIE's words kept for it (``error_detail``), to avoid
    what was flagged; then a new task.  The seller sees it on the status line."""
    if not jobs.advance(job.id, JobStatus.GENERATING, JobStatus.ENHANCING, message_id, where=where,
                        safety_retries=Job.safety_retries + 1, error_detail=f"kie refused: {kie_message}"[:500],
                        **fields):
        return False
    context.metrics.safety_retries.labels("started").inc()
    context.send(ActorName.ENHANCE_PROMPT, str(job.id))
    context.send(ActorName.SHOW_STATUS, str(job.id))
    return True
