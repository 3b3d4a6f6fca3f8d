"""The refund path, part two: tell the seller, once, that their job failed, what
happened and what to do — with a "Try again" button where trying again helps.

It never expires and retries a transient failure (Telegram or the database
down) for as long as it takes; a seller who blocked the bot is not retried.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramForbiddenError

from neurocards import jobs, users
from neurocards.dispatch import ActorName
from neurocards.jobs import Claim
from neurocards.jobs.pipeline import current_delivery_id, on_event_loop, record_effect, retry_transient
from neurocards.jobs.status import failure_text, try_again_helps
from neurocards.keyboards import try_again_keyboard
from neurocards.limits.budgets import try_acquire
from neurocards.models import Job, JobStatus

from . import context, declare

_settings = context.settings


@declare.refund_path(time_limit_s=_settings.pipeline.notify_time_limit_s, retry_when=retry_transient(None))
def notify_failure(job_id: str) -> None:
    job = jobs.get_job(job_id)
    if job is None or job.status != JobStatus.FAILED or job.failure_notified_at is not None:
        return
    if users.is_blocked(job.user_id):
        return
    slot = try_acquire(*context.budgets.telegram_send(job.chat_id))
    if not slot:  # back exactly when the chat's and the bot's slots allow
        declare.defer(delay_s=slot.wait_s)
        return
    delivery_id = current_delivery_id()
    if not jobs.claim(job.id, JobStatus.FAILED, Claim.NOTICE, delivery_id):
        return  # a duplicate of this message is telling the seller
    try:
        with context.metrics.external_call("telegram", "send_failure"):
            on_event_loop(_tell, job)
    except TelegramForbiddenError:  # blocked since: nobody to tell, and nothing to tell again (the watchdog)
        jobs.release(job.id, Claim.NOTICE, delivery_id)
        users.mark_blocked(job.user_id)
        return
    except BaseException:
        jobs.release(job.id, Claim.NOTICE, delivery_id)
        raise
    record_effect(jobs.mark_failure_notified, job.id)
    context.send(ActorName.SHOW_STATUS, job_id)  # the status line says it failed, too


async def _tell(job: Job) -> None:
    keyboard = try_again_keyboard(job.language, job.id) if try_again_helps(job) else None
    await context.telegram_bot().send_message(
        chat_id=job.chat_id, text=failure_text(job, _settings.telegram.support_contact), reply_markup=keyboard
    )
