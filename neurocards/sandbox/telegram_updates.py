"""How updates leave the Telegram stand-in: getUpdates long polling, or a webhook it POSTs to.

As in Telegram, a bot uses one or the other: while a webhook is set, getUpdates is a 409, and a
second getUpdates terminates the one still waiting (two bot instances on one token).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import aiohttp

from .telegram_spec import BadCall

if TYPE_CHECKING:
    from .telegram_call import Call

__all__ = ["UpdateQueue", "Webhook", "METHODS"]

logger = logging.getLogger(__name__)

#: Update types a bot gets when it has not chosen (Bot API, getUpdates.allowed_updates).
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
#: First and longest pause before re-posting an update the webhook did not take.
WEBHOOK_RETRY_FIRST_S = 0.05
WEBHOOK_RETRY_MAX_S = 2.0
WEBHOOK_TIMEOUT_S = 10.0
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class UpdateQueue:
    """One bot's updates not yet confirmed, oldest first."""

    def __init__(self, update_ids: Iterator[int]) -> None:
        self._ids = update_ids
        self.pending: deque[dict[str, Any]] = deque()
        self.allowed: frozenset[str] | None = None  # None: everything but NOT_BY_DEFAULT
        self.polling = False  # a getUpdates is waiting for an update
        self._arrived = asyncio.Event()
        self._generation = 0

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update; its update_id, or None when the bot's allowed_updates leave it out."""
        if not self.wants(kind):
            return None
        update_id = next(self._ids)
        self.pending.append({"update_id": update_id, kind: payload})
        self._arrived.set()
        return update_id

    def wants(self, kind: str) -> bool:
        return kind in self.allowed if self.allowed is not None else kind not in NOT_BY_DEFAULT

    def set_allowed(self, allowed: list[str] | None) -> None:
        """An empty list restores the default; None (not specified) keeps the previous choice."""
        if allowed is not None:
            self.allowed = frozenset(allowed) or None

    def confirm(self, offset: int) -> None:
        """getUpdates' ``offset``: forget older updates (a negative one keeps the last -offset)."""
        if offset < 0:
            while len(self.pending) > -offset:
                self.pending.popleft()
        while self.pending and self.pending[0]["update_id"] < offset:
            self.pending.popleft()

    async def poll(self, limit: int, timeout_s: float) -> list[dict[str, Any]]:
        """Up to ``limit`` pending updates, waiting up to ``timeout_s`` for one to arrive."""
        self._generation += 1
        generation = self._generation
        self._arrived.set()  # an earlier poll still waiting wakes up and is terminated
        if not self.pending and timeout_s > 0:
            self._arrived.clear()
            self.polling = True
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
            except TimeoutError:
                pass
            finally:
                if generation == self._generation:
                    self.polling = False
            if generation != self._generation:
                raise BadCall(409, "Conflict: terminated by other getUpdates request; "
                                   "make sure that only one bot instance is running")  # fmt: skip
        return list(itertools.islice(self.pending, limit))

    async def wait_pending(self) -> None:
        while not self.pending:
            self._arrived.clear()
            await self._arrived.wait()

    def wake(self) -> None:
        """End every wait now (reset, shutdown): waiting polls return what is pending."""
        self._arrived.set()


@dataclasses.dataclass
class Webhook:
    """A webhook set with setWebhook, and the task posting updates to it."""

    url: str
    secret_token: str | None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task | None = None

    def start(self, updates: UpdateQueue, session: aiohttp.ClientSession) -> None:
        self.task = asyncio.get_running_loop().create_task(self._deliver(updates, session))

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _deliver(self, updates: UpdateQueue, session: aiohttp.ClientSession) -> None:
        """Post updates one at a time, oldest first, until each is taken with a 2xx."""
        pause_s = WEBHOOK_RETRY_FIRST_S
        while True:
            await updates.wait_pending()
            update = updates.pending[0]
            error = await self._post(update, session)
            if error is None:
                updates.confirm(update["update_id"] + 1)
                pause_s = WEBHOOK_RETRY_FIRST_S
                continue
            self.last_error_date, self.last_error_message = int(time.time()), error
            logger.info("webhook refused update %s: %s", update["update_id"], error)
            await asyncio.sleep(pause_s)
            pause_s = min(pause_s * 2, WEBHOOK_RETRY_MAX_S)

    async def _post(self, update: dict[str, Any], session: aiohttp.ClientSession) -> str | None:
        """None when the webhook took the update, else the error getWebhookInfo reports."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret_token} if self.secret_token else {}
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_S)
        try:
            async with session.post(self.url, json=update, headers=headers, timeout=timeout) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {type(exc).__name__}: {exc}"


async def get_updates(call: Call) -> list[dict[str, Any]]:
    if call.bot.webhook is not None:
        raise BadCall(409, "Conflict: can't use getUpdates method while webhook is active; "
                           "use deleteWebhook to delete the webhook first")  # fmt: skip
    updates = call.bot.updates
    updates.set_allowed(call.get_json("allowed_updates"))
    offset = call.get_int("offset")
    if offset is not None:
        updates.confirm(offset)
    limit = min(max(call.get_int("limit", 100), 1), 100)
    return await updates.poll(limit, float(call.get_int("timeout", 0)))


async def set_webhook(call: Call) -> bool:
    url = call.get_str("url", "")
    if not url:
        return await delete_webhook(call)
    if not url.startswith(("https://", "http://")):  # Telegram wants https; the sandbox takes loopback http
        raise BadCall(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    secret = call.get_str("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise BadCall(400, "Bad Request: secret token contains unallowed characters")
    bot = call.bot
    if call.get_flag("drop_pending_updates"):
        bot.updates.pending.clear()
    bot.updates.set_allowed(call.get_json("allowed_updates"))
    bot.drop_webhook()
    bot.webhook = Webhook(url, secret, call.get_int("max_connections", 40))
    bot.webhook.start(bot.updates, call.state.http)
    return True


async def delete_webhook(call: Call) -> bool:
    call.bot.drop_webhook()
    if call.get_flag("drop_pending_updates"):
        call.bot.updates.pending.clear()
    return True


async def get_webhook_info(call: Call) -> dict[str, Any]:
    bot, webhook = call.bot, call.bot.webhook
    info: dict[str, Any] = {"url": "", "has_custom_certificate": False}
    info["pending_update_count"] = len(bot.updates.pending)
    if webhook is not None:
        info.update(url=webhook.url, max_connections=webhook.max_connections, ip_address="127.0.0.1")
        if webhook.last_error_date is not None:
            info.update(last_error_date=webhook.last_error_date, last_error_message=webhook.last_error_message)
    if bot.updates.allowed is not None:
        info["allowed_updates"] = sorted(bot.updates.allowed)
    return info


METHODS = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
