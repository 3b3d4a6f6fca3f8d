"""Buttons on a job: "Generate again" (a new job from its photo and info) and
"Send again" (a delivered video, at no charge)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, FSInputFile
from aiogram.utils.callback_answer import CallbackAnswer
from redis.asyncio import Redis

from ...context import Context
from ...jobs import TooManyJobsInFlight, formats
from ...jobs.status import info_label
from ...keyboards import JobAction, JobActionKind, again_keyboard, packs_keyboard
from ...limits.kie_balance import TierClosed
from ...media import links
from ...models import JobStatus, User
from ...money import credits, pending
from ...money.credits import InsufficientCredits
from ...settings import Settings
from ...texts import text
from ..flow import JOB_IDS, start_generation, tier_closed_text
from ..job_buttons import own_job, photo_available
from ..metrics import BotMetrics
from .generate import kept_for_top_up_text

router = Router(name="again")
logger = logging.getLogger("neurocards.bot.again")

#: A second tap on the same button within this many seconds starts nothing.
DOUBLE_TAP_WINDOW_S = 10


@router.callback_query(JobAction.filter(F.action == JobActionKind.AGAIN))
async def generate_again(query: CallbackQuery, callback_data: JobAction, context: Context, bot: Bot, seller: User,
                         lang: str, redis: Redis, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    parent = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    if parent is None:
        return
    if not photo_available(parent):  # any host can fetch it by file_id
        callback_answer.text, callback_answer.show_alert = text(lang, "callback.no_photo"), True
        return
    tap_key = f"neurocards:again:{seller.id}:{parent.id}"
    if not await redis.set(tap_key, query.id, nx=True, ex=DOUBLE_TAP_WINDOW_S):
        callback_answer.text = text(lang, "callback.already")
        return
    try:
        await start_generation(context, bot, seller, query.message.chat.id, parent.product_info, parent=parent,
                               job_id=uuid.uuid5(JOB_IDS, f"again:{query.id}"), on_debit=metrics.debited)
    except InsufficientCredits:  # kept: the payment that lands in time starts it
        await redis.delete(tap_key)
        settings = context.settings
        await asyncio.to_thread(pending.keep, user_id=seller.id, chat_id=query.message.chat.id,
                                product_info=parent.product_info, ttl_s=settings.credits.pending_request_ttl_s,
                                photo_path=parent.photo_path, photo_file_id=parent.photo_file_id, parent_id=parent.id)
        price = formats.job_choice(settings, parent).price
        await query.message.answer(await kept_for_top_up_text(settings, lang, seller.id, parent.product_info, price),
                                   reply_markup=packs_keyboard(lang, settings.credits.packs, settings.credits.price))
        return
    except TooManyJobsInFlight as exc:
        await redis.delete(tap_key)
        callback_answer.text = text(lang, "too_many_jobs", in_flight=exc.in_flight)
        callback_answer.show_alert = True
        return
    except TierClosed as closed:
        await redis.delete(tap_key)
        callback_answer.text, callback_answer.show_alert = tier_closed_text(lang, closed), True
        return
    callback_answer.text = text(lang, "callback.started")


@router.callback_query(JobAction.filter(F.action == JobActionKind.RESEND))
async def send_again(query: CallbackQuery, callback_data: JobAction, bot: Bot, seller: User, lang: str,
                     settings: Settings, callback_answer: CallbackAnswer) -> None:
    job = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    if job is None:
        return
    kept = job.finished_path if job.finished_path and Path(job.finished_path).is_file() else job.video_path
    link = job.delivered_as == "link"
    if job.status != JobStatus.DONE or not (link or job.video_file_id or (kept and Path(kept).is_file())):
        callback_answer.text = text(lang, "callback.unknown")
        return
    callback_answer.text = text(lang, "callback.resent")
    balance = await asyncio.to_thread(credits.balance_of, seller.id)
    caption = text(lang, "video.caption", info=info_label(job), balance=balance)
    keyboard = again_keyboard(lang, job.id)
    if link:  # too big for Telegram: a new link
        shown = links.link_text(settings, job, job.finished_bytes)
        await bot.send_message(query.message.chat.id, caption + "\n\n" + shown, reply_markup=keyboard)
        return
    file = job.video_file_id or FSInputFile(kept, filename="video.mp4")
    if job.delivered_as == "document":
        await bot.send_document(query.message.chat.id, document=file, caption=caption, reply_markup=keyboard)
        return
    await bot.send_video(query.message.chat.id, video=file, caption=caption, reply_markup=keyboard,
                         supports_streaming=True)
