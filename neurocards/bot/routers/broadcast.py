"""/broadcast for operators (issue 14): ``/broadcast <text>`` shows the message
exactly as sellers will get it, with "Send to N" and "Cancel"; once confirmed
(once, however often it is tapped) it goes to every seller who has not blocked
the bot, in the background (:mod:`neurocards.bot.broadcaster`), with a progress
line edited in place and a final report.  The broadcasts table is its audit
trail: who, when, what, and how it went.

Operators only (:class:`IsAdmin`): anyone else's /broadcast is an unknown
command, and anyone else's tap on the buttons is refused.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from ... import broadcasts
from ...context import Context
from ...keyboards import BroadcastAction, broadcast_keyboard
from ...models import User
from ...texts import DEFAULT_LANGUAGE, text
from .. import broadcaster
from ..broadcaster import RUNNER, progress_text
from ..filters import IsAdmin

router = Router(name="broadcast")
logger = logging.getLogger("neurocards.bot.broadcast")


def _language_of(user_id: int) -> str:
    user = User.get_or_none(User.id == user_id)
    return user.language if user is not None else DEFAULT_LANGUAGE


@router.startup()
async def resume_broadcasts(context: Context, bot: Bot) -> None:
    broadcaster.start_resuming(context, bot, _language_of)


@router.shutdown()
async def stop_broadcasts() -> None:
    await broadcaster.stop()


@router.message(Command("broadcast"), IsAdmin())
async def preview(message: Message, lang: str) -> None:
    # the operator's own formatting (bold, links, ...) is kept: the message as HTML, minus "/broadcast"
    parts = (message.html_text or "").split(maxsplit=1)
    body = parts[1].strip() if len(parts) > 1 else ""
    if not body:
        await message.answer(text(lang, "broadcast.usage"))
        return
    broadcast = await asyncio.to_thread(broadcasts.draft, message.from_user.id, message.chat.id, body)
    audience = await asyncio.to_thread(broadcasts.audience)
    await message.answer(body)  # the preview: exactly what sellers will get
    await message.answer(text(lang, "broadcast.confirm", id=broadcast.id, count=audience),
                         reply_markup=broadcast_keyboard(lang, broadcast.id, audience))


@router.callback_query(BroadcastAction.filter(), IsAdmin())
async def confirm_or_cancel(query: CallbackQuery, callback_data: BroadcastAction, context: Context, bot: Bot,
                            lang: str, callback_answer: CallbackAnswer) -> None:
    broadcast_id = callback_data.broadcast_id
    if not callback_data.send:
        if await asyncio.to_thread(broadcasts.cancel, broadcast_id):
            await query.message.edit_text(text(lang, "broadcast.cancelled", id=broadcast_id))
        else:
            await _already(lang, broadcast_id, callback_answer)
        return
    broadcast = await asyncio.to_thread(broadcasts.confirm, broadcast_id, RUNNER)
    if broadcast is None:  # confirmed (or cancelled) before: a double tap, or another operator
        await _already(lang, broadcast_id, callback_answer)
        return
    logger.info("broadcast %s confirmed by admin %s for %s sellers", broadcast.id, query.from_user.id, broadcast.total)
    await query.message.edit_reply_markup(reply_markup=None)
    line = await query.message.answer(progress_text(lang, broadcast, broadcasts.Counts()))
    await asyncio.to_thread(broadcasts.set_progress_message, broadcast.id, line.message_id)
    broadcast.progress_message_id = line.message_id
    broadcaster.start(context, bot, broadcast, lang)


async def _already(lang: str, broadcast_id: int, answer: CallbackAnswer) -> None:
    found = await asyncio.to_thread(broadcasts.get_broadcast, broadcast_id)
    answer.text = text(lang, "broadcast.already", id=broadcast_id, status=found.status if found else "?")
    answer.show_alert = True


@router.callback_query(BroadcastAction.filter())
async def refuse_non_admin(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    logger.warning("broadcast button pressed by a non-operator: user=%s", query.from_user.id)
    callback_answer.text, callback_answer.show_alert = text(lang, "ops.only"), True
