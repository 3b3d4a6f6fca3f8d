"""What every button on a job checks first: the job it names exists and is the
presser's (forged data, a stale button, someone else's job id each get their
own answer), and whether a new job can have its photo."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from .. import jobs
from ..models import Job, User
from ..texts import text

__all__ = ["own_job", "photo_available"]

logger = logging.getLogger("neurocards.bot.buttons")


async def own_job(query: CallbackQuery, job_id: str, seller: User, lang: str, answer: CallbackAnswer) -> Job | None:
    """The job a button names, if it exists and is the presser's; else the answer says why."""
    job = await asyncio.to_thread(jobs.get_job, job_id)
    if job is None:
        logger.warning("forged or stale button: user=%s data=%r", seller.id, query.data)
        answer.text = text(lang, "callback.unknown")
        return None
    if job.user_id != seller.id:
        logger.warning("button for another seller's job: user=%s job=%s owner=%s", seller.id, job.id, job.user_id)
        answer.text, answer.show_alert = text(lang, "callback.not_yours"), True
        return None
    return job


def photo_available(job: Job) -> bool:
    """Whether a new job can have this job's photo: by Telegram's file_id from any host, or stored here."""
    return bool(job.photo_file_id) or bool(job.photo_path and Path(job.photo_path).is_file())
