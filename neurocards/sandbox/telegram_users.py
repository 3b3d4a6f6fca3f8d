"""The seller's side of a chat, acted out through the control API: messages of every kind,
button presses, blocking the bot; each reaches the bot as the update Telegram would send."""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import mimetypes
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .telegram_html import utf16_len
from .telegram_media import ASSETS, file_view, media_object, photo_sizes
from .telegram_state import BotState, Chat, FileStore, PendingCallback, TelegramState

__all__ = ["ControlError", "send_message", "press_button", "set_blocked"]

PROFILE_FIELDS = ("first_name", "last_name", "username", "language_code")
#: A new user's profile unless the control call says otherwise (sellers are Russian by default).
DEFAULT_PROFILE = {"first_name": "Seller", "language_code": "ru"}


class ControlError(Exception):
    """A control call that cannot be acted out: HTTP ``status`` and a message for the test."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@functools.cache
def product_jpeg() -> bytes:
    """The default photo a seller sends: assets/product.jpg."""
    return (ASSETS / "product.jpg").read_bytes()


def _data(spec: dict[str, Any], default: bytes) -> bytes:
    if "data_b64" not in spec:
        return default
    try:
        return base64.b64decode(spec["data_b64"], validate=True)
    except (binascii.Error, TypeError):
        raise ControlError(400, "data_b64 is not base64") from None


def _chat_for(bot: BotState, user_id: int, body: dict[str, Any]) -> Chat:
    """The user's chat with the bot, opened with a default profile on first contact."""
    profile = {} if user_id in bot.chats else dict(DEFAULT_PROFILE)
    profile.update({key: body[key] for key in PROFILE_FIELDS if body.get(key)})
    return bot.chat_with({"id": user_id, "is_bot": False, **profile})


def _sender(chat: Chat) -> dict[str, Any]:
    return {key: value for key, value in chat.user.items() if key in ("id", "is_bot", *PROFILE_FIELDS)}


async def _text(files: FileStore, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise ControlError(400, "a text message needs a non-empty text")
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])}]
    return content, {"text": text}


async def _photo(files: FileStore, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = body.get("photo") or {}
    try:
        sizes = await photo_sizes(files, _data(spec, product_jpeg()), width=spec.get("width"),
                                  height=spec.get("height"), file_size=spec.get("file_size"))  # fmt: skip
    except ValueError:
        raise ControlError(400, "photo data_b64 is not an image") from None
    largest = files.get(sizes[-1]["file_id"])
    return {"photo": sizes}, {"photo": file_view(largest, width=sizes[-1]["width"], height=sizes[-1]["height"])}


async def _document(files: FileStore, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = body.get("document") or {}
    name = spec.get("file_name", "product.jpg")
    mime = spec.get("mime_type") or mimetypes.guess_type(name)[0] or "application/octet-stream"
    data = _data(spec, product_jpeg())
    stored = files.add("document", data, size=spec.get("file_size"), mime_type=mime, file_name=name)
    return {"document": media_object("document", stored)}, {"document": file_view(stored)}


async def _sticker(files: FileStore, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = body.get("sticker") or {}
    stored = files.add("sticker", _data(spec, (ASSETS / "tiny.png").read_bytes()), mime_type="image/webp")
    sticker = media_object("sticker", stored, type="regular", width=512, height=512, is_animated=False,
                           is_video=False, emoji=spec.get("emoji", "👍"))  # fmt: skip
    return {"sticker": sticker}, {"sticker": file_view(stored)}


async def _video(files: FileStore, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = body.get("video") or {}
    stored = files.add("video", _data(spec, b"sandbox video"), size=spec.get("file_size"), mime_type="video/mp4",
                       file_name=spec.get("file_name", "video.mp4"))  # fmt: skip
    shape = {"width": spec.get("width", 720), "height": spec.get("height", 1280), "duration": spec.get("duration", 5)}
    return {"video": media_object("video", stored, **shape)}, {"video": file_view(stored, **shape)}


async def _voice(files: FileStore, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = body.get("voice") or {}
    stored = files.add("voice", _data(spec, b"OggS sandbox voice"), size=spec.get("file_size"), mime_type="audio/ogg")
    duration = spec.get("duration", 2)
    return {"voice": media_object("voice", stored, duration=duration)}, {"voice": file_view(stored, duration=duration)}


#: Message kinds a user can send: content for the Message, and for the transcript.
KINDS: dict[str, Callable[[FileStore, dict[str, Any]], Awaitable[tuple[dict[str, Any], dict[str, Any]]]]] = {
    "text": _text, "photo": _photo, "document": _document, "sticker": _sticker, "video": _video, "voice": _voice,
}  # fmt: skip


async def send_message(state: TelegramState, bot: BotState, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The user sends a message; a user who had blocked the bot unblocks it first, as in Telegram."""
    kind = body.get("kind", "text")
    if kind not in KINDS:
        raise ControlError(400, f"kind must be one of {', '.join(KINDS)}")
    content, view = await KINDS[kind](state.files, body)
    if kind != "text" and body.get("caption"):
        content["caption"] = view["caption"] = body["caption"]
    chat = _chat_for(bot, user_id, body)
    if chat.blocked:
        set_blocked(state, bot, user_id, False)
    message_id = chat.new_message_id()
    message = {"message_id": message_id, "from": _sender(chat), "chat": chat.as_chat(), "date": int(time.time()),
               **content}  # fmt: skip
    if body.get("media_group_id"):
        message["media_group_id"] = str(body["media_group_id"])
    chat.messages[message_id] = message
    chat.record(state.next_seq(), "user_message", message_id=message_id, kind=kind, **view)
    return {"update_id": bot.updates.push("message", copy.deepcopy(message)), "message": message}


def _has_button(message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    for button in (button for row in rows for button in row):
        if all(button.get(key) == body[key] for key in ("callback_data", "text") if body.get(key) is not None):
            return button
    return None


def _find_pressed(chat: Chat, body: dict[str, Any]) -> tuple[int, str]:
    """The message and callback_data a press names: the button on the given message, else the
    newest bot message with such a button; forged data is delivered when message_id is given."""
    if body.get("callback_data") is None and body.get("text") is None:
        raise ControlError(400, "press needs callback_data or text")
    if body.get("message_id") is not None:
        message_id = int(body["message_id"])
        if message_id not in chat.bot_message_ids or message_id in chat.deleted:
            raise ControlError(404, f"no message {message_id} from the bot in chat {chat.id}")
        candidates = [message_id]
    else:
        candidates = [m for m in reversed(chat.bot_message_ids) if m not in chat.deleted]
    for message_id in candidates:
        button = _has_button(chat.messages[message_id], body)
        if button is not None:
            if "callback_data" not in button:
                raise ControlError(400, f"button {button['text']!r} has no callback_data")
            return message_id, button["callback_data"]
    if body.get("message_id") is not None and body.get("callback_data") is not None:
        return int(body["message_id"]), body["callback_data"]
    given = (key for key in ("callback_data", "text", "message_id") if body.get(key) is not None)
    wanted = ", ".join(f"{key}={body[key]!r}" for key in given)
    raise ControlError(404, f"no button with {wanted} on the bot's messages in chat {chat.id}")


def press_button(state: TelegramState, bot: BotState, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The user presses an inline button: the bot gets a callback_query to answer."""
    chat = bot.chats.get(user_id)
    if chat is None:
        raise ControlError(404, f"user {user_id} never wrote to the bot")
    message_id, data = _find_pressed(chat, body)
    query_id = str(secrets.randbits(63))
    instance = int.from_bytes(hashlib.sha256(f"{bot.me['id']}:{chat.id}".encode()).digest()[:8], "big") >> 1
    message = copy.deepcopy(chat.messages[message_id])  # as it is now, whatever edits come later
    query = {"id": query_id, "from": _sender(chat), "message": message, "chat_instance": str(instance), "data": data}
    bot.callbacks[query_id] = PendingCallback(chat.id)
    chat.record(state.next_seq(), "callback_query", callback_query_id=query_id, message_id=message_id, data=data)
    return {"update_id": bot.updates.push("callback_query", query), "callback_query_id": query_id}


def set_blocked(state: TelegramState, bot: BotState, user_id: int, blocked: bool) -> dict[str, Any]:
    """The user blocks (or restarts) the bot: sends to the chat get 403 and the bot gets a
    my_chat_member update, as from Telegram."""
    chat = _chat_for(bot, user_id, {})
    if chat.blocked == blocked:
        return {"update_id": None, "blocked": blocked}
    chat.blocked = blocked
    chat.record(state.next_seq(), "blocked" if blocked else "unblocked")
    member = {"status": "member", "user": bot.sender}
    kicked = {"status": "kicked", "user": bot.sender, "until_date": 0}
    old, new = (member, kicked) if blocked else (kicked, member)
    change = {"chat": chat.as_chat(), "from": _sender(chat), "date": int(time.time()), "old_chat_member": old,
              "new_chat_member": new}  # fmt: skip
    return {"update_id": bot.updates.push("my_chat_member", change), "blocked": blocked}
