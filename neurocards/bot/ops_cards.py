"""The card operators get for a seller's report (issue 14): the product photo, the
report, the description, the prompt the video was made from, and the video
itself (both by Telegram ``file_id``: the bot never reads a worker's disk), with
one-tap "Refund", "Re-run free" and "Dismiss".

It goes to ``telegram.ops_chat_id`` when set, else to each of
``telegram.admin_ids``, each in its reader's language (an ops chat in the
default one).  A recipient who can't be reached is logged and skipped.
"""

from __future__ import annotations

import asyncio
import html
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from ..jobs import formats
from ..keyboards import resolve_keyboard
from ..models import Job, Report, User
from ..settings import Settings
from ..texts import DEFAULT_LANGUAGE, one_line, text

__all__ = ["recipients", "send_report_cards", "card_text"]

logger = logging.getLogger("neurocards.bot.ops_cards")

#: How much of each long part the card quotes (a caption holds 1024 characters).
QUOTED_CHARS = {"info": 300, "comment": 200, "prompt": 900}


def recipients(settings: Settings) -> list[int]:
    ops = settings.telegram.ops_chat_id
    return [ops] if ops else list(settings.telegram.admin_ids)


def _quote(value: str, what: str) -> str:
    return one_line(value, QUOTED_CHARS[what])


def card_text(lang: str, report: Report, job: Job, settings: Settings) -> str:
    """The card's caption: who, which job, what it was made in, the reason, the description."""
    made_in = formats.job_made_in(lang, settings, job)
    comment = text(lang, "ops.card.comment", comment=_quote(report.comment, "comment")) if report.comment else ""
    reason = html.unescape(text(lang, f"report.reason.{report.reason}"))
    # made_in and comment are texts already (HTML): plain again, escaped once more by text()
    return text(lang, "ops.card", report=report.id, user=report.user_id, job=job.id, made_in=html.unescape(made_in),
                reason=reason, comment=html.unescape(comment), info=_quote(job.product_info, "info") or "—")


def _language(chat_id: int) -> str:
    user = User.get_or_none(User.id == chat_id)
    return user.language if user is not None else DEFAULT_LANGUAGE


async def send_report_cards(bot: Bot, settings: Settings, report: Report, job: Job) -> int:
    """Send the card to every operator; how many got it."""
    delivered = 0
    for chat_id in recipients(settings):
        lang = await asyncio.to_thread(_language, chat_id)
        try:
            await _send_card(bot, chat_id, lang, report, job, settings)
        except TelegramAPIError as exc:
            logger.warning("report %s: card not delivered to %s: %s", report.id, chat_id, exc)
            continue
        delivered += 1
    return delivered


async def _send_card(bot: Bot, chat_id: int, lang: str, report: Report, job: Job, settings: Settings) -> None:
    caption = card_text(lang, report, job, settings)
    if job.photo_file_id:
        await bot.send_photo(chat_id, job.photo_file_id, caption=caption)
    else:
        await bot.send_message(chat_id, caption)
    prompt = text(lang, "ops.card.prompt", prompt=_quote(job.prompt, "prompt") or "—")
    keyboard = resolve_keyboard(lang, report.id)
    if job.video_file_id:
        await bot.send_video(chat_id, job.video_file_id, caption=prompt, reply_markup=keyboard)
    else:
        await bot.send_message(chat_id, prompt, reply_markup=keyboard)
