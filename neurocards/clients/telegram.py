"""The Telegram side of the workers: an aiogram ``Bot`` on the configured API base."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter

__all__ = ["create_bot", "RetryAfterMiddleware", "UPLOAD_TIMEOUT_S"]

logger = logging.getLogger(__name__)

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


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Waits what Telegram's 429 says (``retry_after``) and repeats the request, up to
    ``max_wait_s`` in total; for the bot's replies, where waiting in a coroutine
    costs nothing.  (Workers use Dramatiq's delayed retries instead.)"""

    def __init__(self, max_wait_s: float = 30.0, on_wait=None) -> None:
        self.max_wait_s = max_wait_s
        self.on_wait = on_wait  # called with the method's name each time Telegram asks to wait

    async def __call__(self, make_request, bot, method):
        waited = 0.0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if waited + exc.retry_after > self.max_wait_s:
                    raise
                logger.info("telegram asked to wait %ss before %s", exc.retry_after, type(method).__name__)
                if self.on_wait is not None:
                    self.on_wait(type(method).__name__)
                await asyncio.sleep(exc.retry_after)
                waited += exc.retry_after
