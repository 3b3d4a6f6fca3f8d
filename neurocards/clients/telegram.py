"""The Telegram side of the workers and the bot: an aiogram ``Bot`` on the
configured API base, and the session middlewares every message goes through.

- :class:`TelegramBudget` takes from the shared Telegram budgets
  (:mod:`neurocards.limits.budgets`) before each method Telegram's flood control counts.
  In the bot it *waits its turn*: per chat in order, both slots in one take
  while the budget has room, else in line for the bot's overall slot (one
  waiter per process at a time asks Redis), so a burst of updates is answered
  at the budget's pace instead of collecting 429s; messages sent
  inside :func:`sending_in_bulk` (broadcasts) take the lower-priority share and
  never hold a seller's chat.  In the workers the actors take their slots
  themselves (no slot: the message is rescheduled), and the middleware only
  reports a 429 that still came, which pauses that budget for everyone.
- :class:`RetryAfterMiddleware` waits out such a 429 in the bot and repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter

__all__ = ["create_bot", "RetryAfterMiddleware", "TelegramBudget", "sending_in_bulk", "prepare_answers",
           "FLOOD_METHODS", "ANSWERED_METHODS", "UPLOAD_TIMEOUT_S"]

logger = logging.getLogger(__name__)

#: A 50 MB upload on a slow link needs more than aiogram's default 60 s.
UPLOAD_TIMEOUT_S = 180.0


#: Bot API methods Telegram's flood control counts: a message sent or edited in a chat.
FLOOD_METHODS = frozenset({
    "SendMessage", "SendPhoto", "SendVideo", "SendDocument", "SendAnimation", "SendAudio", "SendVoice",
    "SendMediaGroup", "SendSticker", "SendInvoice", "SendLocation", "SendContact", "SendPoll", "SendDice",
    "CopyMessage", "ForwardMessage", "EditMessageText", "EditMessageCaption", "EditMessageReplyMarkup",
    "EditMessageMedia",
})  # fmt: skip

#: The methods the bot calls whose answers :func:`prepare_answers` gets ready for.
ANSWERED_METHODS = FLOOD_METHODS | {
    "GetUpdates", "GetMe", "GetFile", "AnswerCallbackQuery", "AnswerPreCheckoutQuery", "DeleteMessage",
    "RefundStarPayment", "GetStarTransactions",
}  # fmt: skip

_in_bulk = contextvars.ContextVar("neurocards_telegram_in_bulk", default=False)


def create_bot(settings, *, timeout_s: float = UPLOAD_TIMEOUT_S, budgets=None) -> Bot:
    """A ``Bot`` speaking to ``settings.telegram_api_base`` (Telegram, a local
    Bot API server or the sandbox), HTML parse mode by default.  With
    ``budgets`` (a worker's), a 429 it meets pauses the budget it came from for
    every process (:class:`TelegramBudget` without waiting)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base), timeout=timeout_s)
    if budgets is not None:
        session.middleware(TelegramBudget(budgets, wait=False))
    return Bot(
        token=settings.telegram_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


#: The answer models :func:`prepare_answers` built, kept for the process's life.
_answer_models: dict[str, type] = {}


def prepare_answers(methods=ANSWERED_METHODS) -> None:
    """Build now the models aiogram reads these methods' answers with.

    aiogram parses every answer as ``Response[<the method's result type>]``, a
    generic pydantic model built the first time it is asked for: 25-40 ms of
    the event loop per result type (ten times that on a busy machine), paid by
    whichever seller's reply is the first of its kind after a start, and by
    every update queued behind it.  The bot calls this before its first update,
    the worker when it declares its actors."""
    from aiogram import methods as aiogram_methods
    from aiogram.client.session.base import Response

    for name in sorted(methods):
        returning = getattr(aiogram_methods, name).__returning__
        if repr(returning) not in _answer_models:
            _answer_models[repr(returning)] = Response[returning]


@contextlib.contextmanager
def sending_in_bulk():
    """Messages sent inside this block (this task and the tasks it starts) are
    bulk (a broadcast): they take :meth:`~neurocards.limits.budgets.Budgets.telegram_bulk`,
    the share a seller's own chat never waits behind."""
    token = _in_bulk.set(True)
    try:
        yield
    finally:
        _in_bulk.reset(token)


class TelegramBudget(BaseRequestMiddleware):
    """Takes from the Telegram budgets before each method in :data:`FLOOD_METHODS`
    (``wait``: the bot's way; without it, only a 429 is reported: the workers')."""

    def __init__(self, budgets, *, wait: bool = True) -> None:
        self.budgets = budgets
        self.wait = wait
        self._chats: dict = {}  # chat id -> [lock, users]: this process's messages to a chat, in order
        self._turnstile = asyncio.Lock()  # one waiter per process asks for the overall slot at a time
        self._in_line = 0  # messages of this process in line for the overall slot (holding or awaiting the turnstile)
        self._bulk_turnstile = asyncio.Lock()

    async def __call__(self, make_request, bot, method):
        if type(method).__name__ not in FLOOD_METHODS:
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)  # None: an inline message's edit
        try:
            if not self.wait:
                return await make_request(bot, method)
            if _in_bulk.get():
                await self._wait_bulk(chat_id)
                return await make_request(bot, method)
            async with self._chat_turn(chat_id):
                await self._wait_turn(chat_id)
                return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            await self.budgets.telegram_rate_limited(chat_id, exc.retry_after)
            raise

    async def _wait_turn(self, chat_id) -> None:
        """Until this message has its chat's slot and the bot's.  While nobody in
        this process is in line for the overall slot, one take asks for both at
        once (one Redis round trip, no queue: the common case, well under the
        budget); once the overall budget is short, messages queue for it in the
        order they asked (one asks Redis at a time), each first waiting out its
        own chat's wait without holding anybody up."""
        limiter = self.budgets.limiter
        chat, *overall = self.budgets.telegram_send(chat_id)
        limits = [chat, *overall]
        while True:
            if not self._in_line:
                slot = await limiter.take_async(limits)
                if slot:
                    return
                if chat is not None and slot.refused_by == chat.name:
                    await asyncio.sleep(slot.wait_s)  # this chat's own pace: nobody else waits for it
                    continue
            elif chat is not None:
                slot = await limiter.take_async([chat], peek=True)
                if not slot:
                    await asyncio.sleep(slot.wait_s)
                    continue
            self._in_line += 1
            try:
                async with self._turnstile:
                    while True:
                        slot = await limiter.take_async(limits)
                        if slot:
                            return
                        if chat is not None and slot.refused_by == chat.name:
                            break  # another process wrote to this chat meanwhile: its own wait again
                        await asyncio.sleep(slot.wait_s)
            finally:
                self._in_line -= 1

    async def _wait_bulk(self, chat_id) -> None:
        limits = self.budgets.telegram_bulk(chat_id)
        async with self._bulk_turnstile:
            while not (slot := await self.budgets.limiter.take_async(limits)):
                await asyncio.sleep(slot.wait_s)

    @contextlib.asynccontextmanager
    async def _chat_turn(self, chat_id):
        entry = self._chats.setdefault(chat_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._chats[chat_id]


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
