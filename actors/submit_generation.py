"""Stage 2: create the KIE image-to-video task and schedule the first poll.

Creating a task costs money at KIE, so it happens once per attempt: the Redis
delivery that claims ``submit_claim`` is the only one that creates, and the
claim is given back when the create fails, for the retry to take.

The photo goes to KIE's file API once per job (its URL is kept on the job and
reused by resubmits and retries while valid), *before* a create slot is taken,
so the slot is spent on the create alone.  The create takes a slot from one of
KIE's keys (:mod:`neurocards.limits.kie_keys`); with none free the message comes back
exactly when the soonest frees, and the job remembers the key that created its
task, for its polls.  When more jobs wait for a create than one window lets
through, only those at the front of the fair order try for a slot
(:mod:`neurocards.limits.fair_share`: round-robin across sellers); the others
come back when the jobs ahead of them should have been created.
"""

from __future__ import annotations

import datetime as dt
import random

from neurocards import jobs
from neurocards.clients.kie import KieApiError
from neurocards.clients.kie_models import model_spec
from neurocards.dispatch import ActorName
from neurocards.errors import PipelineError, is_content_policy
from neurocards.jobs import Claim, photos
from neurocards.jobs.formats import filmed_as
from neurocards.jobs.pipeline import current_delivery_id, current_message_id
from neurocards.limits import fair_share, kie_balance
from neurocards.limits.kie_keys import KeyTrouble
from neurocards.logs import job_logger
from neurocards.media.local import local_more_photo, local_photo
from neurocards.media.storage import photo_mime_type
from neurocards.models import Job, JobStatus, utcnow
from neurocards.money import economics

from . import context, declare
from .enhance_prompt import may_retry_safely, rewrite_after_refusal

_settings = context.settings

#: Added to the exact wait for a create slot, so jobs waiting for the same slot
#: do not all come back in the same millisecond.
SLOT_JITTER_S = 0.05
#: A job held by a closed tier looks again at least this often.
BREAKER_RECHECK_S = 30.0


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
    try:
        image_url = _uploaded_photo(job)
        references = _uploaded_references(job)
        held_s = _held_by_breaker(job)
        if held_s:  # its tier closed after it was paid for: it waits for KIE to be back
            jobs.release(job.id, Claim.SUBMIT, delivery_id)
            jobs.update_in_state(job.id, JobStatus.GENERATING, where=Job.kie_task_id == "")  # not stuck: waiting
            declare.defer(delay_s=held_s)
            return
        turn = fair_share.turn(job, _settings)
        if turn.wait_s:  # more jobs wait for a create than a window lets through, and this one is behind
            jobs.release(job.id, Claim.SUBMIT, delivery_id)
            declare.defer(delay_s=turn.wait_s + random.uniform(0, SLOT_JITTER_S))
            return
        key, slot = context.kie_keys.create_slot()
        if not slot:
            jobs.release(job.id, Claim.SUBMIT, delivery_id)
            declare.defer(delay_s=slot.wait_s + random.uniform(0, SLOT_JITTER_S))
            return
        task_id = _create_task(job, key, image_url, references)
    except KeyTrouble as trouble:  # a 429 (its key's budget now paused) or a parked key: soon, another slot
        jobs.release(job.id, Claim.SUBMIT, delivery_id)
        declare.defer(delay_s=trouble.wait_s + random.uniform(0, SLOT_JITTER_S))
        return
    except KieApiError as refused:  # refused at create on its content policy: the free retry, where it has one
        if not (is_content_policy(refused.message) and may_retry_safely(job)):
            if is_content_policy(refused.message):
                context.metrics.refusals.labels("kie").inc()
                if job.safety_retries:
                    context.metrics.safety_retries.labels("refused").inc()
            jobs.release(job.id, Claim.SUBMIT, delivery_id)
            raise
        job_logger(job.id).info("KIE refused the create on its content policy (%s); rewriting the prompt, free",
                                refused.message)
        if not rewrite_after_refusal(job, refused.message, Job.submit_claim == delivery_id, current_message_id(),
                                     submit_claim=""):
            jobs.release(job.id, Claim.SUBMIT, delivery_id)
        return
    except BaseException:  # give the claim back, so this message's retry can take it
        jobs.release(job.id, Claim.SUBMIT, delivery_id)
        raise
    now, first_s = utcnow(), _first_poll_s()
    model = job.model or _settings.kie.model
    task_credits = economics.task_credits(_settings, model)  # every task KIE made is paid for
    submitted = jobs.update_in_state(
        job.id,
        JobStatus.GENERATING,
        where=Job.submit_claim == delivery_id,
        kie_task_id=task_id,
        kie_credits=Job.kie_credits + task_credits,
        kie_cost_source="table",
        kie_key=key,
        submit_claim="",
        kie_attempts=Job.kie_attempts + 1,
        kie_submitted_at=now,
        next_poll_at=now + dt.timedelta(seconds=first_s),
        moved_by_message=current_message_id(),
    )
    if submitted:
        context.metrics.cost("kie", model, task_credits * _settings.economics.usd_per_kie_credit)
        _schedule_first_poll(job)


def _held_by_breaker(job: Job) -> float:
    """How long to wait before looking again when the job's tier is closed at KIE
    (its balance, or its model failing: :mod:`neurocards.limits.kie_balance`); 0
    when it is open.  Past ``kie.breaker_hold_s`` the job fails, refunded."""
    model = job.model or _settings.kie.model
    reason = kie_balance.closed_reason(context.redis, _settings, model)
    if reason is None:
        return 0.0
    waited_s = (utcnow() - (job.generating_at or job.created_at)).total_seconds()
    left_s = _settings.kie.breaker_hold_s - waited_s
    if left_s <= 0:
        raise PipelineError("kie_paused", f"{model}'s tier closed ({reason}) for {waited_s:.0f} s after the job "
                                          "was paid")
    job_logger(job.id).info("%s's tier is closed (%s); the paid job waits for it (%.0f s left)", model, reason,
                            left_s)
    return min(left_s, BREAKER_RECHECK_S, _settings.kie.balance_period_s)


def _first_poll_s() -> float:
    kie = _settings.kie
    return kie.poll_with_callbacks_s if kie.callback_base_url else kie.poll_first_s  # KIE rings first


def _schedule_first_poll(job: Job) -> None:
    context.send(ActorName.POLL_GENERATION, str(job.id), job.poll_count, delay_s=_first_poll_s())


def _uploaded_photo(job: Job) -> str:
    """The seller's photo in KIE's file store (the Telegram file URL holds the bot
    token and never leaves us): uploaded once per job, then reused while valid."""
    image_url = jobs.uploaded_image(job)
    if image_url:
        return image_url
    image_url = _upload(job, local_photo(context, job), str(job.id))
    jobs.remember_upload(job.id, image_url, _settings.kie.upload_valid_s)
    return image_url


def _uploaded_references(job: Job) -> list[str]:
    """The job's other photos in KIE's file store, where its model takes references
    (issue 21); each uploaded once, like the first."""
    if job.photo_count < 2 or not model_spec(job.model or _settings.kie.model).takes_references:
        return []
    urls = []
    for photo in photos.more_photos(job.id):
        url = photos.uploaded(photo)
        if not url:
            url = _upload(job, local_more_photo(context, job, photo), f"{job.id}-{photo.position}")
            photos.remember_upload(photo, url, _settings.kie.upload_valid_s)
        urls.append(url)
    return urls


def _upload(job: Job, path, name: str) -> str:
    keys = context.kie_keys
    with context.metrics.external_call("kie", "upload"):
        return keys.call(keys.upload_key(), "upload", lambda kie: kie.upload_image(
            path.read_bytes(), f"{name}{path.suffix or '.jpg'}", photo_mime_type(path)))


def _create_task(job: Job, key: str, image_url: str, references: list[str]) -> str:
    with context.metrics.external_call("kie", "create"):
        return context.kie_keys.call(key, "create", lambda kie: kie.create_task(
            model=job.model or _settings.kie.model,  # the job's tier (issue 14)
            prompt=job.prompt,
            image_url=image_url,
            references=references,
            aspect_ratio=filmed_as(job.aspect_ratio or _settings.kie.aspect_ratio),  # 1:1 is filmed 9:16
            callback_url=callback_url(job),
        ))


def callback_url(job: Job) -> str | None:
    """Where KIE should report this task: the bot's web app, with the job's secret."""
    base = _settings.kie.callback_base_url.rstrip("/")
    return f"{base}/kie/callback/{job.id}/{job.callback_secret}" if base else None
