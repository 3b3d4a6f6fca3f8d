"""Cross-cutting concerns of the bot, as aiogram middlewares."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from redis.asyncio import Redis

from .. import users
from ..db import record_effect
from ..texts import language_of, text
from .chat_order import ARRIVED_AT

__all__ = ["SellerMiddleware", "ThrottleMiddleware", "UpdateMetricsMiddleware"]

logger = logging.getLogger("neurocards.bot")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

#: How long a throttle window's count is kept: past the window itself, for the
#: updates that arrived in it and waited for their chat's turn.
COUNT_KEPT_S = 60


class SellerMiddleware(BaseMiddleware):
    """Registers the seller on first contact (welcome credits, once) and puts
    ``seller`` (our :class:`~neurocards.models.User`), ``seller_is_new`` and
    ``lang`` into the handler's data.  The database work runs in a thread, never
    on the event loop; for Telegram's word that money moved, which it delivers
    once, it waits out a database outage (``payment_wait_s``) rather than drop
    the update."""

    def __init__(self, welcome_credits: int, payment_wait_s: float = 0.0) -> None:
        self.welcome_credits = welcome_credits
        self.payment_wait_s = payment_wait_s

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user = data.get("event_from_user")
        if tg_user is None:
            return await handler(event, data)
        if tg_user.is_bot:  # another bot writing to us: not a seller, nothing to answer
            logger.info("update from bot user=%s ignored", tg_user.id)
            return None
        within_s = self.payment_wait_s if isinstance(event, Message) and _is_payment(event) else 0.0
        seller, created = await asyncio.to_thread(
            record_effect, users.register, tg_user.id, language_of(tg_user.language_code), self.welcome_credits,
            within_s=within_s,
        )
        if seller.blocked:  # they are writing to us again, so they unblocked the bot
            await asyncio.to_thread(users.mark_blocked, seller.id, False)
            seller.blocked = False
        data["seller"] = seller
        data["seller_is_new"] = created
        data["lang"] = seller.language
        return await handler(event, data)


class ThrottleMiddleware(BaseMiddleware):
    """At most ``limit`` messages and button presses per seller per ``window_s``,
    counted in Redis so that every bot instance shares the count.  The first
    refused message in a window is answered, the rest dropped quietly; every
    refused button press is answered (a callback answer is not a chat message,
    and an unanswered button spins on the seller's screen)."""

    def __init__(self, redis: Redis, *, limit: int = 5, window_s: int = 2) -> None:
        self.redis = redis
        self.limit = limit
        self.window_s = window_s

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user = data.get("event_from_user")
        if tg_user is None or (isinstance(event, Message) and (event.media_group_id or _is_payment(event))):
            # an album's photos come together (one is used); a payment is never dropped
            return await handler(event, data)
        # counted by when the update came, not when its turn in the chat did (a chat's
        # handlers wait for its Telegram slot one after another, ~1 s apart)
        arrived_at = data.get(ARRIVED_AT) or time.time()
        key = f"neurocards:throttle:{tg_user.id}:{int(arrived_at) // self.window_s}"
        async with self.redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, COUNT_KEPT_S).execute()
        if count <= self.limit:
            return await handler(event, data)
        if count == self.limit + 1 or isinstance(event, CallbackQuery):
            await self._answer(event, data)
        logger.info("throttled user=%s count=%s", tg_user.id, count)
        return None

    async def _answer(self, event: TelegramObject, data: dict[str, Any]) -> None:
        lang = language_of(getattr(data.get("event_from_user"), "language_code", None))
        if isinstance(event, Message):
            await event.answer(text(lang, "throttled"))
        elif isinstance(event, CallbackQuery):
            await event.answer(text(lang, "throttled"))


def _is_payment(message: Message) -> bool:
    """Telegram's word that money moved: never throttled."""
    return message.successful_payment is not None or message.refunded_payment is not None


class UpdateMetricsMiddleware(BaseMiddleware):
    """Counts updates by type and outcome and times the handlers (the bot's own metrics)."""

    def __init__(self, updates, latency) -> None:
        self.updates = updates
        self.latency = latency

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = type(event).__name__
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await handler(event, data)
        except Exception:
            outcome = "error"
            raise
        finally:
            self.updates.labels(kind, outcome).inc()
            self.latency.labels(kind).observe(time.perf_counter() - started)
