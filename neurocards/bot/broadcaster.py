"""Sending a confirmed broadcast (issue 14): an asyncio task in the bot, no
Dramatiq, paced so that sellers' own replies are never held up by it.

Each message goes out inside :func:`~neurocards.clients.telegram.sending_in_bulk`,
so the bot's Telegram budget middleware takes for it what a bulk message takes
(:meth:`~neurocards.limits.budgets.Budgets.telegram_bulk`): the recipient's chat slot,
the broadcasts' own pace, ``telegram.broadcast_per_s`` (10/s by default, a
third of Telegram's ~30/s per bot), and the bot's overall slot only while that
leaves a share of it to sellers' own chats — when the budget is busy the
broadcast waits, everyone else goes first.  One slot per message, taken by the
middleware alone.  The operator's progress line and report are not bulk.  A
seller who blocked the bot (403) is marked and skipped from then on; other
failures are counted.  Progress is saved (with a heartbeat) and
shown in the operator's progress line, edited in place every
:data:`PROGRESS_EVERY_S`; at the end the operator gets the report.  A run
whose bot died is taken over by a running bot after :data:`STALE_S`
(:func:`start_resuming`, started with the dispatcher).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError

from .. import broadcasts, users
from ..broadcasts import Counts
from ..clients.telegram import sending_in_bulk
from ..context import Context
from ..models import Broadcast
from ..texts import text

__all__ = ["RUNNER", "start", "start_resuming", "stop", "progress_text"]

logger = logging.getLogger("neurocards.bot.broadcaster")

#: This bot process, as the runner of the broadcasts it sends.
RUNNER = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
#: How often the progress line is edited (and the progress saved).
PROGRESS_EVERY_S = 2.0
#: A run with no heartbeat for this long has lost its bot and is taken over.
STALE_S = 60.0
#: Sellers read from the database at a time.
BATCH = 200

_running: set[asyncio.Task] = set()


def start(context: Context, bot: Bot, broadcast: Broadcast, language: str) -> asyncio.Task:
    """Send ``broadcast`` in the background (it must be ours: confirmed or taken over by :data:`RUNNER`)."""
    task = asyncio.create_task(_run(context, bot, broadcast, language), name=f"broadcast-{broadcast.id}")
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


def progress_text(language: str, broadcast: Broadcast, counts: Counts, *, final: bool = False) -> str:
    key = "broadcast.report" if final else "broadcast.progress"
    return text(language, key, id=broadcast.id, done=counts.done, total=broadcast.total, sent=counts.sent,
                blocked=counts.blocked, failed=counts.failed)


async def _run(context: Context, bot: Bot, broadcast: Broadcast, language: str) -> None:
    counts = Counts(broadcast.sent, broadcast.blocked, broadcast.failed)
    cursor = broadcast.cursor
    shown_at = time.monotonic()
    try:
        while batch := await asyncio.to_thread(broadcasts.recipients, cursor, BATCH):
            for user_id in batch:
                outcome = await _send(bot, user_id, broadcast.text)
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                cursor = user_id
                if time.monotonic() - shown_at >= PROGRESS_EVERY_S:
                    if not await asyncio.to_thread(broadcasts.save_progress, broadcast.id, RUNNER, cursor, counts):
                        logger.warning("broadcast %s: taken over by another bot; stopping here", broadcast.id)
                        return
                    await _show(bot, broadcast, progress_text(language, broadcast, counts))
                    shown_at = time.monotonic()
        if await asyncio.to_thread(broadcasts.finish, broadcast.id, RUNNER, cursor, counts):
            logger.info("broadcast %s done: %s", broadcast.id, counts)
            await _show(bot, broadcast, progress_text(language, broadcast, counts))
            await bot.send_message(broadcast.chat_id, progress_text(language, broadcast, counts, final=True))
    except asyncio.CancelledError:  # the bot is stopping: what was sent is saved, the rest resumes later
        await asyncio.shield(asyncio.to_thread(broadcasts.save_progress, broadcast.id, RUNNER, cursor, counts))
        raise
    except Exception:
        logger.exception("broadcast %s stopped at seller %s; another bot takes it over after %ss",
                         broadcast.id, cursor, STALE_S)


async def _send(bot: Bot, user_id: int, html: str) -> str:
    """Send one seller the broadcast, in its turn as a bulk message; which count it goes to."""
    try:
        with sending_in_bulk():
            await bot.send_message(user_id, html)
    except TelegramForbiddenError:
        await asyncio.to_thread(users.mark_blocked, user_id)
        return "blocked"
    except TelegramAPIError as exc:
        logger.warning("broadcast to %s failed: %s", user_id, exc)
        return "failed"
    return "sent"


async def _show(bot: Bot, broadcast: Broadcast, line: str) -> None:
    """Edit the progress line in place (a failed edit is not worth stopping for)."""
    if broadcast.progress_message_id is None:
        return
    with contextlib.suppress(TelegramAPIError):
        await bot.edit_message_text(line, chat_id=broadcast.chat_id, message_id=broadcast.progress_message_id)


def start_resuming(context: Context, bot: Bot, language_of) -> None:
    """While the bot runs, every ``STALE_S / 2``: take over the runs whose bot died
    and finish them (``language_of(admin_id)``, called in a thread, gives the
    operator's language).  Started with the dispatcher (long polling)."""
    async def loop() -> None:
        while True:
            try:
                for broadcast in await asyncio.to_thread(broadcasts.take_over, RUNNER, STALE_S):
                    logger.info("broadcast %s: taking over from seller %s", broadcast.id, broadcast.cursor)
                    start(context, bot, broadcast, await asyncio.to_thread(language_of, broadcast.admin_id))
            except Exception:  # the database may be away for a while: look again later
                logger.warning("broadcasts: could not look for runs to take over", exc_info=True)
            await asyncio.sleep(STALE_S / 2)

    task = asyncio.create_task(loop(), name="broadcast-resume")
    _running.add(task)
    task.add_done_callback(_running.discard)


async def stop() -> None:
    """Stop sending (the bot is stopping): each run saves how far it got, to be resumed."""
    tasks = list(_running)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
