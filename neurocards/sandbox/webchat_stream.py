"""The web chat's live view of one chat: a server-sent event stream of the chat's messages as
they are now, sent again whenever one changes (an edit, a new keyboard, a deletion, an invoice
paid), and of the moments a chat shows only briefly (a callback answer's toast, "typing…").

The stand-in keeps no history of a message's versions, only its current state (a Telegram
Message object in ``Chat.messages``) and the chat's events.  So a stream remembers what it last
sent of each message and, when woken, sends the messages whose view differs.  It is woken by
:class:`Changes`, which the stand-in's middleware notifies after every request (every change
to a chat happens inside one), and on its own every ``KEEPALIVE_S`` to notice a closed browser.

Events (``event:`` name, JSON ``data:``):

- ``ready`` ``{"bot": getMe}`` once, at the start;
- ``msg`` ``{"message", "from_bot", "deleted", "paid"}`` a message, new or changed;
- ``reset`` ``{}`` messages vanished (the stand-in was reset): forget them all;
- ``toast`` ``{"text", "show_alert"}`` the bot answered a button press with a text;
- ``action`` ``{"action"}`` the bot sent a chat action (typing, upload_video…).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from .telegram_state import BotState, Chat

__all__ = ["Changes", "stream_chat", "message_view"]

#: How often an idle stream writes a comment line, so a closed browser is noticed (seconds).
KEEPALIVE_S = 15.0


class Changes:
    """A wake-up call for the streams: :meth:`notify` wakes every waiter of the current round.

    A stream takes a :meth:`token` *before* it reads the chat, so a change made while it is
    writing wakes it again rather than being missed.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.closed = False

    def token(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def close(self) -> None:
        """The app is shutting down: streams end now rather than at their next keep-alive."""
        self.closed = True
        self.notify()

    async def wait(self, token: asyncio.Event, timeout_s: float) -> bool:
        """True when notified, False when ``timeout_s`` passed first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(token.wait(), timeout_s)
            return True
        return False


def message_view(bot: BotState, chat: Chat, message: dict[str, Any]) -> dict[str, Any]:
    """What the page needs to draw one message: the Message itself, whose it is, and what the
    Message does not say (deleted; for an invoice, whether it is paid)."""
    message_id = message["message_id"]
    view = {"message": message, "from_bot": message_id in chat.bot_message_ids, "deleted": message_id in chat.deleted}
    if "invoice" in message:
        invoice = bot.stars.invoices.get((chat.id, message_id))
        view["paid"] = invoice is not None and invoice.charge_id is not None
    return view


class _ChatStream:
    """One browser's stream of one chat: what it has sent, and the chat events it has seen."""

    def __init__(self, response: web.StreamResponse, bot: BotState, chat_id: int) -> None:
        self.response = response
        self.bot = bot
        self.chat_id = chat_id
        self.sent: dict[int, str] = {}  # message_id -> the JSON of the view last sent
        chat = bot.chats.get(chat_id)
        self.last_seq = chat.events[-1]["seq"] if chat is not None and chat.events else 0  # no old toasts

    async def send(self, event: str, data: dict[str, Any]) -> None:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        await self.response.write(f"event: {event}\ndata: {payload}\n\n".encode())

    async def catch_up(self) -> None:
        """Send every message whose view changed since the last call, and the new moments."""
        chat = self.bot.chats.get(self.chat_id)
        messages = {} if chat is None else {
            message_id: message_view(self.bot, chat, chat.messages[message_id]) for message_id in sorted(chat.messages)
        }
        if set(self.sent) - set(messages):
            self.sent.clear()
            self.last_seq = 0
            await self.send("reset", {})
        for message_id, view in messages.items():
            encoded = json.dumps(view, sort_keys=True, ensure_ascii=False)
            if self.sent.get(message_id) != encoded:
                self.sent[message_id] = encoded
                await self.send("msg", view)
        if chat is not None:
            await self._moments(chat)

    async def _moments(self, chat: Chat) -> None:
        start = len(chat.events)
        while start and chat.events[start - 1]["seq"] > self.last_seq:  # the new ones are at the end
            start -= 1
        new = chat.events[start:]
        for event in new:
            if event["type"] == "callback_answer" and event.get("text"):
                await self.send("toast", {"text": event["text"], "show_alert": bool(event.get("show_alert"))})
            elif event["type"] == "chat_action":
                await self.send("action", {"action": event["action"]})
        if new:
            self.last_seq = new[-1]["seq"]


async def stream_chat(request: web.Request, bot: BotState, changes: Changes, chat_id: int) -> web.StreamResponse:
    """``GET /_sandbox/webchat/chats/{chat_id}/stream``: the chat, live, until the browser goes."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})  # fmt: skip
    await response.prepare(request)
    stream = _ChatStream(response, bot, chat_id)
    with contextlib.suppress(ConnectionError):
        await stream.send("ready", {"bot": bot.me})
        while not changes.closed:
            token = changes.token()
            await stream.catch_up()
            if not await changes.wait(token, KEEPALIVE_S):
                await response.write(b": keep-alive\n\n")
    return response
