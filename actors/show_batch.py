"""A batch's summary message, edited as its jobs end ("3 of 5 ready") (issue 21).

Like the status edits: flood-safe (the chat's edit slot), "not modified" is not
an error, and an edit that can't be made leaves the jobs' own messages to say it.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest

from neurocards import users
from neurocards.jobs import batches
from neurocards.jobs.pipeline import on_event_loop
from neurocards.limits.budgets import try_acquire
from neurocards.models import Batch
from neurocards.texts import text

from . import context, declare
from .show_status import HARMLESS_EDIT_ERRORS

_settings = context.settings


@declare.stage(time_limit_s=_settings.pipeline.notify_time_limit_s, refund=False)
def show_batch(batch_id: int) -> None:
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is None or batch.summary_message_id is None or users.is_blocked(batch.user_id):
        return
    budgets = context.budgets
    slot = try_acquire(budgets.status_edit(batch.chat_id), *budgets.telegram_send(batch.chat_id))
    if not slot:
        declare.defer(delay_s=slot.wait_s)
        return
    with context.metrics.external_call("telegram", "edit_batch"):
        on_event_loop(_edit, batch, summary_text(batch))


def summary_text(batch: Batch) -> str:
    """"🎞 3 of 5 videos ready", and how many failed (their credits back)."""
    done = batches.progress(batch.id)
    lines = [text(batch.language, "batch.summary", done=done.done, size=done.size)]
    if done.failed:
        lines.append(text(batch.language, "batch.summary.failed", failed=done.failed))
    if done.ended:
        lines.append(text(batch.language, "batch.summary.ended"))
    return "\n".join(lines)


async def _edit(batch: Batch, shown: str) -> None:
    try:
        await context.telegram_bot().edit_message_text(chat_id=batch.chat_id, message_id=batch.summary_message_id,
                                                       text=shown)
    except TelegramBadRequest as exc:
        if not any(harmless in exc.message for harmless in HARMLESS_EDIT_ERRORS):
            raise
