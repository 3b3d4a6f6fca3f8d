"""The Telegram side of the workers: an aiogram ``Bot`` on the configured API base."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

__all__ = ["create_bot", "UPLOAD_TIMEOUT_S"]

#: A 50 MB upload on a slow link needs more than aiogram's default 60 s.
UPLOAD_TIMEOUT_S = 180.0


def create_bot(settings, *, timeout_s: float = UPLOAD_TIMEOUT_S) -> Bot:
    """A ``Bot`` speaking to ``settings.telegram_api_base`` (Telegram, a local
    Bot API server or the sandbox), HTML parse mode by default."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base), timeout=timeout_s)
    return Bot(
        token=settings.telegram_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
