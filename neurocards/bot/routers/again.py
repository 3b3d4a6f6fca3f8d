"""Buttons on a job: "Generate again" (a new job from its photo and info) and
"Send again" (a delivered video, at no charge)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, FSInputFile
from redis.asyncio import Redis

from ... import credits, jobs
from ...credits import InsufficientCredits
from ...jobs import TooManyJobsInFlight
from ...models import Job, JobStatus, User
from ...settings import get_settings
from ...status import info_label
from ...texts import text
from ..flow import start_generation
from ..keyboards import JobAction, again_keyboard
from ..metrics import BotMetrics
from .generate import JOB_IDS

router = Router(name="again")
logger = logging.getLogger("neurocards.bot.again")

#: A second tap on the same button within this many seconds starts nothing.
DOUBLE_TAP_WINDOW_S = 10


async def _own_job(query: CallbackQuery, callback_data: JobAction, seller: User, lang: str) -> Job | None:
    """The job the button names, if it exists and belongs to whoever pressed it."""
    job = jobs.get_job(callback_data.job_id)
    if job is None:
        logger.warning("forged or stale button: user=%s data=%r", seller.id, query.data)
        await query.answer(text(lang, "callback.unknown"))
        return None
    if job.user_id != seller.id:
        logger.warning("button for another seller's job: user=%s job=%s owner=%s", seller.id, job.id, job.user_id)
        await query.answer(text(lang, "callback.not_yours"), show_alert=True)
        return None
    return job


@router.callback_query(JobAction.filter(F.action == "again"))
async def generate_again(query: CallbackQuery, callback_data: JobAction, bot: Bot, seller: User, lang: str,
                         redis: Redis, metrics: BotMetrics) -> None:
    parent = await _own_job(query, callback_data, seller, lang)
    if parent is None:
        return
    if not parent.photo_path or not Path(parent.photo_path).is_file():
        await query.answer(text(lang, "callback.no_photo"), show_alert=True)
        return
    if not await redis.set(f"neurocards:again:{seller.id}:{parent.id}", query.id, nx=True, ex=DOUBLE_TAP_WINDOW_S):
        await query.answer(text(lang, "callback.already"))
        return
    settings = get_settings()
    try:
        await start_generation(bot, seller, query.message.chat.id, parent.product_info, parent=parent,
                               job_id=uuid.uuid5(JOB_IDS, f"again:{query.id}"), on_debit=metrics.debited)
    except InsufficientCredits:
        await redis.delete(f"neurocards:again:{seller.id}:{parent.id}")
        await query.answer()
        await query.message.answer(text(lang, "no_credits", balance=credits.balance_of(seller.id),
                                        price=settings.credits.price, support=settings.telegram.support_contact))
        return
    except TooManyJobsInFlight as exc:
        await redis.delete(f"neurocards:again:{seller.id}:{parent.id}")
        await query.answer(text(lang, "too_many_jobs", in_flight=exc.in_flight), show_alert=True)
        return
    await query.answer(text(lang, "callback.started"))


@router.callback_query(JobAction.filter(F.action == "resend"))
async def send_again(query: CallbackQuery, callback_data: JobAction, bot: Bot, seller: User, lang: str) -> None:
    job = await _own_job(query, callback_data, seller, lang)
    if job is None:
        return
    if job.status != JobStatus.DONE or not (job.video_file_id or Path(job.video_path).is_file()):
        await query.answer(text(lang, "callback.unknown"))
        return
    await query.answer(text(lang, "callback.resent"))
    await bot.send_video(
        query.message.chat.id,
        video=job.video_file_id or FSInputFile(job.video_path, filename="video.mp4"),
        caption=text(lang, "video.caption", info=info_label(job), balance=credits.balance_of(seller.id)),
        reply_markup=again_keyboard(lang, job.id),
        supports_streaming=True,
    )
