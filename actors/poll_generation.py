"""Stage 3: one status check of the KIE task, then a delayed re-send of itself.

Polling never blocks a worker thread: each message is one HTTP call.  Messages
carry the job's poll sequence number; only the message whose number matches
the job's ``poll_count`` acts, so a duplicate message, or a poll sent early by
KIE's callback, never starts a second chain.

A job polls with the KIE key that created its task, within that key's poll
budget.  With ``kie.callback_base_url`` set, KIE's callback makes the poll that
matters; the scheduled ones are a safety net every ``kie.poll_with_callbacks_s``.
"""

from __future__ import annotations

import datetime as dt
import random

from neurocards import jobs
from neurocards.clients.kie import TaskStatus
from neurocards.dispatch import ActorName
from neurocards.errors import Kind, PipelineError, is_content_policy
from neurocards.jobs.pipeline import current_message_id
from neurocards.limits.budgets import try_acquire
from neurocards.limits.kie_keys import KeyTrouble
from neurocards.logs import job_logger
from neurocards.models import Job, JobStatus, utcnow
from neurocards.money import economics

from . import context, declare
from .enhance_prompt import may_retry_safely, rewrite_after_refusal

_settings = context.settings

#: KIE allows 10 polls/s per key.  A scheduled poll refused a slot comes back when
#: the next frees plus a random part of ``kie.poll_first_s``: it is not urgent, and
#: a thousand jobs in flight then spread out instead of knocking together.  A poll
#: KIE's callback rang for is the video waiting: it comes back when the slot frees,
#: give or take this much (bench/inflight.py --callbacks: ready -> in the chat).
WOKEN_JITTER_S = 0.05
#: What KIE says when it could not fetch the uploaded photo (then it is uploaded again).
IMAGE_UNREACHABLE_WORDS = ("fetch the image", "access limits")


@declare.stage(time_limit_s=_settings.pipeline.poll_time_limit_s)
def poll_generation(job_id: str, seq: int, woken: bool = False) -> None:
    """Check job ``job_id``'s task, if ``seq`` is still its poll; ``woken``: KIE's
    callback says the task has ended."""
    job = jobs.get_job(job_id)
    if job is None:
        return
    message_id = current_message_id()
    if job.moved_by_message == message_id:  # this message moved the job, then was interrupted
        _send_next(job)
        return
    if job.status != JobStatus.GENERATING or job.poll_count != seq or not job.kie_task_id:
        return
    key = context.kie_keys.known(job.kie_key)
    slot = try_acquire(context.budgets.kie_poll(key))
    if not slot:
        spread_s = WOKEN_JITTER_S if woken else _settings.kie.poll_first_s
        declare.defer(delay_s=slot.wait_s + random.uniform(0, spread_s))
        return

    this_poll = (Job.poll_count == seq) & (Job.kie_task_id == job.kie_task_id)
    model = job.model or _settings.kie.model
    try:
        with context.metrics.external_call("kie", "poll"):
            status = context.kie_keys.call(key, "poll", lambda kie: kie.get_task(job.kie_task_id, model))
    except KeyTrouble as trouble:
        if trouble.parked:  # its key can no longer read the task: a new one, with another key
            _resubmit(job, this_poll, seq, message_id, reason=f"KIE key {key} was parked")
        else:
            declare.defer(delay_s=trouble.wait_s)
        return
    if status.state == "success":
        if jobs.advance(job.id, JobStatus.GENERATING, JobStatus.DOWNLOADING, message_id, where=this_poll,
                        result_url=status.result_url, poll_count=seq + 1, **_reported_cost(status, model)):
            if job.safety_retries:
                context.metrics.safety_retries.labels("passed").inc()
            context.send(ActorName.DOWNLOAD_VIDEO, job_id)
            context.send(ActorName.SHOW_STATUS, job_id)
    elif status.state == "failed":
        _on_task_failed(job, status, this_poll, seq, message_id)
    elif _elapsed_s(job) > _settings.kie.deadline_s:
        _resubmit(job, this_poll, seq, message_id, reason=f"task {job.kie_task_id} passed its deadline")
    else:
        _poll_later(job, seq, message_id, this_poll)


def _reported_cost(status, model: str) -> dict:
    """KIE's own figure for the task, where it gives one, in place of the price table's."""
    if status.cost_credits is None:
        return {}
    table = economics.task_credits(_settings, model)
    return {"kie_credits": Job.kie_credits + (status.cost_credits - table), "kie_cost_source": "kie"}


def _poll_later(job: Job, seq: int, message_id: str, this_poll) -> None:
    """Still filming: the next poll scheduled, and when it is due written down (the watchdog's yardstick)."""
    delay_s = next_poll_delay_s(job)
    if jobs.update_in_state(job.id, JobStatus.GENERATING, where=this_poll, poll_count=seq + 1,
                            next_poll_at=utcnow() + dt.timedelta(seconds=delay_s), moved_by_message=message_id):
        _schedule_poll(str(job.id), seq + 1, delay_s)
        context.send(ActorName.SHOW_STATUS, str(job.id))  # the time left moves on: edited if the text changed


def _elapsed_s(job: Job) -> float:
    return (utcnow() - job.kie_submitted_at).total_seconds() if job.kie_submitted_at else 0.0


def next_poll_delay_s(job: Job) -> float:
    """Sooner at first, then every ``poll_max_s``: a quarter of the time already waited."""
    kie = _settings.kie
    if kie.callback_base_url:
        return kie.poll_with_callbacks_s  # the callback makes the poll that matters
    return min(kie.poll_max_s, max(kie.poll_first_s, _elapsed_s(job) / 4))


def _schedule_poll(job_id: str, seq: int, delay_s: float) -> None:
    context.send(ActorName.POLL_GENERATION, job_id, seq, delay_s=delay_s)


def _on_task_failed(job: Job, status: TaskStatus, this_poll, seq: int, message_id: str) -> None:
    detail = f"KIE task {status.task_id} failed: {status.fail_code} {status.fail_message}"
    if is_content_policy(status.fail_message):
        if may_retry_safely(job):
            _retry_safely(job, status, this_poll, seq, message_id)
            return
        context.metrics.refusals.labels("kie").inc()
        context.metrics.safety_retries.labels("refused").inc()
        raise PipelineError("content_policy", detail, kind=Kind.USER)
    if status.fail_code == 451 or any(words in status.fail_message.lower() for words in IMAGE_UNREACHABLE_WORDS):
        jobs.forget_upload(job.id)  # KIE could not fetch the uploaded photo: the resubmit uploads it again
    _resubmit(job, this_poll, seq, message_id, reason=detail)


def _retry_safely(job: Job, status: TaskStatus, this_poll, seq: int, message_id: str) -> None:
    """KIE refused the task on its content policy: once, free, a rewritten prompt (issue 21)."""
    job_logger(job.id).info("KIE refused task %s on its content policy (%s); rewriting the prompt, free",
                            status.task_id, status.fail_message)
    rewrite_after_refusal(job, status.fail_message, this_poll, message_id, kie_task_id="", result_url="",
                          poll_count=seq + 1, next_poll_at=None)


def _resubmit(job: Job, this_poll, seq: int, message_id: str, *, reason: str) -> None:
    """A new KIE task while attempts remain (DESIGN §6); then the job fails."""
    if job.kie_attempts >= _settings.kie.max_attempts:
        error_class = "generation_timeout" if "deadline" in reason else "generation_failed"
        raise PipelineError(error_class, f"{reason}; {job.kie_attempts} attempts used")
    job_logger(job.id).warning("%s; submitting a new task", reason)
    if jobs.update_in_state(job.id, JobStatus.GENERATING, where=this_poll, kie_task_id="", result_url="",
                            poll_count=seq + 1, next_poll_at=None, moved_by_message=message_id):
        context.send(ActorName.SUBMIT_GENERATION, str(job.id))


def _send_next(job: Job) -> None:
    """Send again what this message sent after moving the job."""
    job_id = str(job.id)
    if job.status == JobStatus.DOWNLOADING:
        context.send(ActorName.DOWNLOAD_VIDEO, job_id)
    elif job.status == JobStatus.ENHANCING:  # a free retry after a content-policy refusal
        context.send(ActorName.ENHANCE_PROMPT, job_id)
    elif job.status == JobStatus.GENERATING and not job.kie_task_id:
        context.send(ActorName.SUBMIT_GENERATION, job_id)
    elif job.status == JobStatus.GENERATING:
        _schedule_poll(job_id, job.poll_count, next_poll_delay_s(job))
