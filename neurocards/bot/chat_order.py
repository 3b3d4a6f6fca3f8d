"""A chat's updates are handled one after another, in the order they came.

aiogram handles updates as concurrent tasks, so a seller's second message could
be answered before the first when the first's handler waits longer (a database
call in a thread, its turn in the Telegram budget during a burst).  Holding a
per-chat lock from the moment an update arrives until its handler is done keeps
each chat's replies in order; other chats are not held up (issue 12).

It also caps the updates being handled at once (:data:`MAX_IN_PROGRESS`; the
rest wait their turn, first come first served): in a burst, thousands of
handlers waiting for their Telegram slot would otherwise each hold a Redis
command in flight, and redis-py's asyncio pool refuses the 101st connection
("Too many connections") instead of waiting — those updates went unanswered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.types import TelegramObject, Update

__all__ = ["ChatOrder", "MAX_IN_PROGRESS", "ARRIVED_AT"]

#: The handler-data key of the (unix) time the update reached the bot, before
#: it waited for its chat's turn.
ARRIVED_AT = "arrived_at"

#: Updates handled at once; well under redis-py's 100 connections per pool.
MAX_IN_PROGRESS = 64


class ChatOrder(BaseMiddleware):
    """The first outer middleware on ``dispatcher.update`` (:meth:`install`): one
    update per chat at a time, first come first served (asyncio's locks are fair,
    and nothing awaits before the lock is asked for).  Updates without a chat (a
    pre-checkout query) pass straight through.  Each update's arrival time goes
    in its data (:data:`ARRIVED_AT`), for what must judge it by when it came."""

    def __init__(self, max_in_progress: int = MAX_IN_PROGRESS) -> None:
        self._chats: dict[int, list] = {}  # chat id -> [lock, updates holding or waiting for it]
        self._in_progress = asyncio.Semaphore(max_in_progress)

    @classmethod
    def install(cls, dispatcher) -> ChatOrder:
        """Put a :class:`ChatOrder` before the dispatcher's own update middlewares
        (the FSM's awaits Redis, which would let a later update overtake)."""
        manager = dispatcher.update.outer_middleware
        others = list(manager)
        for middleware in others:
            manager.unregister(middleware)
        order = cls()
        for middleware in (order, *others):
            manager.register(middleware)
        return order

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        data[ARRIVED_AT] = time.time()  # before any wait: what the throttle counts by
        chat = UserContextMiddleware.resolve_event_context(event).chat if isinstance(event, Update) else None
        if chat is None:
            async with self._in_progress:
                return await handler(event, data)
        entry = self._chats.setdefault(chat.id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0], self._in_progress:
                return await handler(event, data)
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._chats[chat.id]
