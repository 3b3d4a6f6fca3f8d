"""Show the seller how their job is doing: the status message, edited in place.

Edits are flood-safe: at most one per chat every
``telegram.status_edit_interval_s`` (a later edit shows the latest state, so
edits that would come too soon are put off, not lost), ``retry_after`` is
honoured, and "message is not modified" is not an error.  While the job waits
or films the text carries its queue position and time left
(:mod:`neurocards.jobs.eta`); the polls ask for it again, and it is edited only
when the text a seller would read has changed.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest

from neurocards import jobs, users
from neurocards.jobs.eta import status_text
from neurocards.jobs.pipeline import on_event_loop
from neurocards.keyboards import status_keyboard
from neurocards.limits.budgets import try_acquire
from neurocards.models import Job, JobStatus

from . import context, declare

_settings = context.settings

#: Edits that fail with these descriptions have nothing left to do.
HARMLESS_EDIT_ERRORS = ("message is not modified", "message to edit not found", "message can't be edited")

#: How long the status last shown to the seller is remembered.
SHOWN_TTL_S = 86_400


@declare.stage(time_limit_s=_settings.pipeline.notify_time_limit_s, refund=False)
def show_status(job_id: str) -> None:
    job = jobs.get_job(job_id)
    if job is None or job.status_message_id is None:
        return
    shown_key = f"neurocards:status-shown:{job.id}"
    shown = status_text(job, _settings)  # the state, and while it waits or films its ETA
    if context.redis.get(shown_key) == shown.encode():
        return  # nothing new to show (edits put off earlier all land here)
    if users.is_blocked(job.user_id):
        return
    budgets = context.budgets
    slot = try_acquire(*budgets.telegram_status(job.chat_id))  # leaving sends their share
    if not slot:  # put off, exactly until the edit may go (it then shows the latest state)
        declare.defer(delay_s=slot.wait_s)
        return
    with context.metrics.external_call("telegram", "edit_status"):
        on_event_loop(_edit, job, shown)
    context.redis.set(shown_key, shown, ex=SHOWN_TTL_S)


async def _edit(job: Job, shown: str) -> None:
    keyboard = status_keyboard(job.language, job.id) if job.status != JobStatus.FAILED else None
    try:
        await context.telegram_bot().edit_message_text(
            chat_id=job.chat_id, message_id=job.status_message_id, text=shown, reply_markup=keyboard
        )
    except TelegramBadRequest as exc:
        if not any(harmless in exc.message for harmless in HARMLESS_EDIT_ERRORS):
            raise
