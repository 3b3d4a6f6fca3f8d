"""Tell the seller how their job is doing: status-message edits and failure messages.

Status edits are flood-safe: at most one per chat every
``telegram.status_edit_interval_s`` (a later edit shows the latest state, so
edits that would come too soon are put off, not lost), ``retry_after`` is
honoured, and "message is not modified" is not an error.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest

from neurocards import jobs, limits, services
from neurocards.bot.keyboards import again_keyboard, try_again_keyboard
from neurocards.metrics import external_call
from neurocards.models import JobStatus, User
from neurocards.pipeline import defer, delivery_token, pipeline_actor
from neurocards.settings import get_settings
from neurocards.status import failure_text, status_text, try_again_helps

_settings = get_settings()

#: Edits that fail with these descriptions have nothing left to do.
HARMLESS_EDIT_ERRORS = ("message is not modified", "message to edit not found", "message can't be edited")

#: How long the status last shown to the seller is remembered.
SHOWN_TTL_S = 86_400


@pipeline_actor(time_limit_s=_settings.pipeline.notify_time_limit_s, refund=False)
async def notify_user(job_id: str, event: str) -> None:
    job = jobs.get_job(job_id)
    if job is None or User.get_by_id(job.user_id).blocked:
        return
    if event == "failed":
        await _tell_failure(job)
    else:
        await _edit_status(job)


async def _edit_status(job) -> None:
    shown_key = f"neurocards:status-shown:{job.id}"
    if job.status_message_id is None or services.redis_client().get(shown_key) == job.status.encode():
        return  # nothing new to show (edits put off earlier all land here)
    chat_limits = (limits.status_edit(job.chat_id), limits.telegram_chat(job.chat_id), limits.telegram_global())
    if not limits.try_acquire(*chat_limits):
        defer(notify_user, str(job.id), "progress", delay_s=_settings.telegram.status_edit_interval_s)
        return
    keyboard = again_keyboard(job.language, job.id) if job.status != JobStatus.FAILED else None
    try:
        with external_call("telegram", "edit_status"):
            await services.telegram_bot().edit_message_text(
                chat_id=job.chat_id, message_id=job.status_message_id, text=status_text(job), reply_markup=keyboard
            )
    except TelegramBadRequest as exc:
        if not any(harmless in exc.message for harmless in HARMLESS_EDIT_ERRORS):
            raise
    services.redis_client().set(shown_key, job.status, ex=SHOWN_TTL_S)


async def _tell_failure(job) -> None:
    if job.status != JobStatus.FAILED or job.failure_notified_at is not None:
        return
    if not limits.try_acquire(limits.telegram_chat(job.chat_id), limits.telegram_global()):
        defer(notify_user, str(job.id), "failed", delay_s=1.0)
        return
    claim = delivery_token()
    if not jobs.claim(job.id, JobStatus.FAILED, "notify", claim):
        return  # a duplicate of this message is telling the seller
    keyboard = try_again_keyboard(job.language, job.id) if try_again_helps(job) else None
    try:
        with external_call("telegram", "send_failure"):
            await services.telegram_bot().send_message(
                chat_id=job.chat_id, text=failure_text(job, _settings.telegram.support_contact), reply_markup=keyboard
            )
    except BaseException:
        jobs.release(job.id, "notify", claim)
        raise
    jobs.mark_failure_notified(job.id)
    notify_user.send(str(job.id), "progress")  # the status line says it failed, too
