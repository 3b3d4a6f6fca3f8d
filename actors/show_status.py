"""Show the seller how their job is doing: the status message, edited in place.

Edits are flood-safe: at most one per chat every
``telegram.status_edit_interval_s`` (a later edit shows the latest state, so
edits that would come too soon are put off, not lost), ``retry_after`` is
honoured, and "message is not modified" is not an error.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest

from neurocards import jobs, users
from neurocards.budgets import try_acquire
from neurocards.keyboards import again_keyboard
from neurocards.models import Job, JobStatus
from neurocards.pipeline import on_event_loop
from neurocards.status import status_text

from . import context, declare

_settings = context.settings

#: Edits that fail with these descriptions have nothing left to do.
HARMLESS_EDIT_ERRORS = ("message is not modified", "message to edit not found", "message can't be edited")

#: How long the status last shown to the seller is remembered.
SHOWN_TTL_S = 86_400


@declare.stage(time_limit_s=_settings.pipeline.notify_time_limit_s, refund=False)
def show_status(job_id: str) -> None:
    job = jobs.get_job(job_id)
    if job is None or job.status_message_id is None or users.is_blocked(job.user_id):
        return
    shown_key = f"neurocards:status-shown:{job.id}"
    if context.redis.get(shown_key) == job.status.encode():
        return  # nothing new to show (edits put off earlier all land here)
    budgets = context.budgets
    if not try_acquire(budgets.status_edit(job.chat_id), *budgets.telegram_send(job.chat_id)):
        declare.defer(delay_s=_settings.telegram.status_edit_interval_s)
        return
    with context.metrics.external_call("telegram", "edit_status"):
        on_event_loop(_edit, job)
    context.redis.set(shown_key, job.status, ex=SHOWN_TTL_S)


async def _edit(job: Job) -> None:
    keyboard = again_keyboard(job.language, job.id) if job.status != JobStatus.FAILED else None
    try:
        await context.telegram_bot().edit_message_text(
            chat_id=job.chat_id, message_id=job.status_message_id, text=status_text(job), reply_markup=keyboard
        )
    except TelegramBadRequest as exc:
        if not any(harmless in exc.message for harmless in HARMLESS_EDIT_ERRORS):
            raise
