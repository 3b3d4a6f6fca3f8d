"""Everything no other router took: a clear answer for each kind of thing a seller
may send, and every button press answered."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from ...texts import text

router = Router(name="fallback")
logger = logging.getLogger("neurocards.bot.fallback")


@router.message(F.sticker)
async def sticker(message: Message, lang: str) -> None:
    await message.answer(text(lang, "photo.sticker"))


@router.message(F.video | F.video_note | F.animation)
async def video(message: Message, lang: str) -> None:
    await message.answer(text(lang, "photo.video"))


@router.message(F.voice | F.audio)
async def voice(message: Message, lang: str) -> None:
    await message.answer(text(lang, "photo.voice"))


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message, lang: str) -> None:
    await message.answer(text(lang, "unknown_command"))


@router.message()
async def anything_else(message: Message, lang: str) -> None:
    await message.answer(text(lang, "send_photo"))


@router.callback_query()
async def unknown_button(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    logger.warning("unknown button data from user=%s: %r", query.from_user.id, query.data)
    callback_answer.text = text(lang, "callback.unknown")
