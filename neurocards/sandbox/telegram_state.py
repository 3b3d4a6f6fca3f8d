"""What the Telegram stand-in remembers: bots, their private chats with users, every message and
what became of it (the transcript), and the files sent either way."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import itertools
import mimetypes
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Any

import aiohttp
from aiohttp import web

from .common import CallLog, Faults
from .telegram_flood import FloodControl, Limits
from .telegram_payments_state import StarLedger
from .telegram_spec import BadCall
from .telegram_updates import UpdateQueue, Webhook

__all__ = ["StoredFile", "FileStore", "Chat", "PendingCallback", "BotState", "TelegramState", "TELEGRAM_STATE"]

#: file_path folder, default extension and file_id prefix of each kind of file, as Telegram has them.
FILE_KINDS = {
    "photo": ("photos", ".jpg", "AgACAgIAAxkBAAI"),
    "video": ("videos", ".mp4", "BAACAgIAAxkBAAI"),
    "document": ("documents", "", "BQACAgIAAxkBAAI"),
    "sticker": ("stickers", ".webp", "CAACAgIAAxkBAAI"),
    "voice": ("voice", ".oga", "AwACAgIAAxkBAAI"),
}
_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")


@dataclasses.dataclass(eq=False)
class StoredFile:
    """A file Telegram holds: its bytes, and the size it reports (bigger, to fake a large file)."""

    file_id: str
    file_unique_id: str
    path: str
    data: bytes
    size: int
    mime_type: str | None = None
    file_name: str | None = None

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class FileStore:
    """Every file sent to or by a bot, by file_id and by file_path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._numbers = itertools.count()

    def add(self, kind: str, data: bytes, *, size: int | None = None, mime_type: str | None = None,
            file_name: str | None = None) -> StoredFile:  # fmt: skip
        folder, extension, prefix = FILE_KINDS[kind]
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1].lower()
        elif mime_type and not extension:
            extension = mimetypes.guess_extension(mime_type) or ""
        stored = StoredFile(
            file_id=prefix + secrets.token_urlsafe(48),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            path=f"{folder}/file_{next(self._numbers)}{extension}",
            data=data,
            size=len(data) if size is None else size,
            mime_type=mime_type,
            file_name=file_name,
        )
        self._by_id[stored.file_id] = self._by_path[stored.path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def at(self, path: str) -> StoredFile | None:
        return self._by_path.get(path)

    def clear(self) -> None:
        self._by_id.clear()
        self._by_path.clear()


@dataclasses.dataclass(eq=False)
class Chat:
    """A private chat: the user, every message either side sent (current state), the transcript."""

    user: dict[str, Any]
    blocked: bool = False
    messages: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    bot_message_ids: list[int] = dataclasses.field(default_factory=list)
    deleted: set[int] = dataclasses.field(default_factory=set)
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    _message_ids: Iterator[int] = dataclasses.field(default_factory=lambda: itertools.count(1))

    @property
    def id(self) -> int:
        return self.user["id"]

    def as_chat(self) -> dict[str, Any]:
        """The Chat object messages carry."""
        names = {key: self.user[key] for key in ("first_name", "last_name", "username") if key in self.user}
        return {"id": self.id, "type": "private", **names}

    def new_message_id(self) -> int:
        """The next id; in a private chat both sides' messages share one sequence."""
        return next(self._message_ids)

    def message(self, message_id: int | None, *, missing: str) -> dict[str, Any]:
        """A message still in the chat, or the 400 Telegram gives (``missing`` names the case)."""
        if message_id is None or message_id not in self.messages or message_id in self.deleted:
            raise BadCall(400, f"Bad Request: {missing}")
        return self.messages[message_id]

    def record(self, seq: int, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"seq": seq, "type": type_, **{key: value for key, value in fields.items() if value is not None}}
        self.events.append(event)
        return event

    def transcript(self) -> dict[str, Any]:
        messages = {
            str(message_id): {**self.messages[message_id], "deleted": message_id in self.deleted}
            for message_id in self.bot_message_ids
        }
        return {"chat_id": self.id, "blocked": self.blocked, "events": list(self.events), "messages": messages}


@dataclasses.dataclass
class PendingCallback:
    """A callback query delivered to the bot and not yet answered."""

    chat_id: int
    created: float = dataclasses.field(default_factory=time.monotonic)
    answered: bool = False


class BotState:
    """One bot token: its profile, its updates, webhook, commands, chats, callback queries and Stars."""

    def __init__(self, token: str, update_ids: Iterator[int]) -> None:
        bot_id = int(token.split(":", 1)[0])
        self.token = token
        self.me: dict[str, Any] = {
            "id": bot_id, "is_bot": True, "first_name": "Neurocards Sandbox", "username": f"neurocards_{bot_id}_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }  # fmt: skip
        self.updates = UpdateQueue(update_ids)
        self.webhook: Webhook | None = None
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.chats: dict[int, Chat] = {}
        self.callbacks: dict[str, PendingCallback] = {}
        self.stars = StarLedger()

    @property
    def sender(self) -> dict[str, Any]:
        """The bot as the ``from`` of its own messages."""
        return {key: self.me[key] for key in ("id", "is_bot", "first_name", "username")}

    def chat(self, chat_id: Any) -> Chat:
        """The private chat with ``chat_id``; Telegram's 400 when the user never wrote to the bot."""
        try:
            return self.chats[int(chat_id)]
        except (KeyError, TypeError, ValueError):
            raise BadCall(400, "Bad Request: chat not found") from None

    def chat_with(self, user: dict[str, Any]) -> Chat:
        """The chat with ``user``, opened on first contact; the user's profile is kept current."""
        chat = self.chats.get(user["id"])
        if chat is None:
            chat = self.chats[user["id"]] = Chat(user=dict(user))
        chat.user.update(user)
        return chat

    def drop_webhook(self) -> None:
        if self.webhook is not None:
            self.webhook.stop()
            self.webhook = None

    def reset(self) -> None:
        """Forget chats, updates, webhook, commands and Stars; a waiting getUpdates returns at once."""
        self.drop_webhook()
        self.updates.pending.clear()
        self.updates.allowed = None
        self.updates.wake()
        self.commands.clear()
        self.chats.clear()
        self.callbacks.clear()
        self.stars.reset()


class TelegramState:
    """Everything the stand-in knows, kept on the app under ``TELEGRAM_STATE``."""

    def __init__(self, tokens: Iterable[str], limits: Limits, faults: Faults, calls: CallLog) -> None:
        self.limits = limits
        self._initial_limits = dataclasses.replace(limits)
        self.flood = FloodControl(limits)
        self.faults = faults
        self.calls = calls
        self.files = FileStore()
        self.bots: dict[str, BotState] = {}
        self.http: aiohttp.ClientSession | None = None  # for webhooks; opened with the app
        self.closing = asyncio.Event()  # set at shutdown: slow calls stop waiting
        self._update_ids = itertools.count(1)  # never reset: a running bot's offset stays valid
        self._seq = itertools.count(1)
        for token in tokens:
            self.add_bot(token)

    @property
    def default_bot(self) -> BotState:
        return next(iter(self.bots.values()))

    def add_bot(self, token: str) -> BotState:
        if not _TOKEN.fullmatch(token):
            raise ValueError("a bot token looks like 123456789:AAbb-CC_dd")
        if token not in self.bots:
            self.bots[token] = BotState(token, self._update_ids)
        return self.bots[token]

    def next_seq(self) -> int:
        return next(self._seq)

    def reset(self) -> None:
        """Back to a fresh start, keeping the registered tokens and update_id sequence."""
        for bot in self.bots.values():
            bot.reset()
        self.files.clear()
        self.flood.clear()
        self.limits.__dict__.update(dataclasses.asdict(self._initial_limits))

    def shutdown(self) -> None:
        self.closing.set()
        for bot in self.bots.values():
            bot.drop_webhook()
            bot.updates.wake()


#: Where the app keeps its TelegramState, for the routes and for in-process tests.
TELEGRAM_STATE = web.AppKey("telegram_state", TelegramState)
