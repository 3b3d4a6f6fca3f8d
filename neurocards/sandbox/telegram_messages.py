"""The bot's side of a chat: sending, editing and deleting messages, chat actions and callback
answers, each refused the way Telegram refuses it and recorded in the chat's transcript."""

from __future__ import annotations

import mimetypes
import time
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .telegram_call import Call, Upload
from .telegram_html import parse_html
from .telegram_media import file_view, media_object, photo_sizes
from .telegram_spec import BadCall
from .telegram_state import Chat, StoredFile

__all__ = ["METHODS", "QUERY_TOO_OLD", "Markup", "open_chat", "read_markup", "post_message"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})  # fmt: skip
BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
})  # fmt: skip
#: What a late, repeated or unknown answer to a callback or pre-checkout query gets.
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def _formatted(call: Call, name: str, entities_name: str, limit: int) -> tuple[str, list[dict[str, Any]]]:
    """The text a user sees and its entities, from ``name`` with parse_mode or explicit entities.

    MarkdownV2 and Markdown are taken as plain text: the stand-in parses HTML only.
    """
    source = call.get_str(name, "")
    parse_mode = (call.get_str("parse_mode") or "").lower()  # Telegram takes any case
    if parse_mode == "html":
        text, entities = parse_html(source)
    elif parse_mode in ("", "markdownv2", "markdown"):
        text, entities = source, call.get_json(entities_name) or []
    else:
        raise BadCall(400, "Bad Request: unsupported parse_mode")
    if len(text) > limit:
        raise BadCall(400, "Bad Request: message is too long" if name == "text" else
                           "Bad Request: message caption is too long")  # fmt: skip
    return text, entities


class Markup(NamedTuple):
    """A call's reply_markup: the inline keyboard a Message carries (None for a reply keyboard)
    and the markup as sent, for the transcript."""

    inline: dict[str, Any] | None
    sent: dict[str, Any] | None


def read_markup(call: Call) -> Markup:
    markup = call.get_json("reply_markup")
    if markup is None:
        return Markup(None, None)
    if not isinstance(markup, dict):
        raise BadCall(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return Markup(None, markup)
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BadCall(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of '
                           "Arrays")  # fmt: skip
    for button in (button for row in rows for button in row):
        _check_button(button)
    return Markup(markup, markup)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise BadCall(400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String')
    if not BUTTON_ACTIONS & set(button):
        raise BadCall(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
                           "inline keyboard")  # fmt: skip
    if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
        raise BadCall(400, "Bad Request: BUTTON_DATA_INVALID")


def open_chat(call: Call) -> Chat:
    """The chat to send to or edit in; Telegram's 403 when its user blocked the bot."""
    chat = call.chat()
    if chat.blocked:
        raise BadCall(403, "Forbidden: bot was blocked by the user")
    return chat


def post_message(call: Call, chat: Chat, content: dict[str, Any], markup: Markup,
                 event: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Store a new bot message, record it in the transcript and return the Message."""
    message_id = chat.new_message_id()
    message = {"message_id": message_id, "from": call.bot.sender, "chat": chat.as_chat(), "date": int(time.time()),
               **{key: value for key, value in content.items() if value}}  # fmt: skip
    if markup.inline is not None:
        message["reply_markup"] = markup.inline
    chat.messages[message_id] = message
    chat.bot_message_ids.append(message_id)
    chat.record(call.state.next_seq(), "bot_message", message_id=message_id, parse_mode=call.get_str("parse_mode"),
                reply_markup=markup.sent, **event)  # fmt: skip
    return message


async def send_message(call: Call) -> dict[str, Any]:
    chat = open_chat(call)
    text, entities = _formatted(call, "text", "entities", TEXT_LIMIT)
    if not text.strip():
        raise BadCall(400, "Bad Request: message text is empty")
    content = {"text": text, "entities": entities}
    return post_message(call, chat, content, read_markup(call), {"text": text, "entities": entities or None})


def _input_file(call: Call, name: str, kind: str, mime_type: str | None) -> StoredFile:
    """The file a send method names: a new upload, an earlier file_id, or our own file URL."""
    value = call.file(name)
    if isinstance(value, Upload):
        if not value.data:
            raise BadCall(400, "Bad Request: file must be non-empty")
        mime = mime_type or mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
        return call.state.files.add(kind, value.data, mime_type=mime, file_name=value.filename)
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        stored = _own_file_at(call, value)
        if stored is None:  # the sandbox reaches nothing outside itself
            raise BadCall(400, "Bad Request: failed to get HTTP URL content")
        return stored
    stored = call.state.files.get(value) if isinstance(value, str) else None
    if stored is None:
        raise BadCall(400, "Bad Request: wrong file identifier/HTTP URL specified")
    return stored


def _own_file_at(call: Call, url: str) -> StoredFile | None:
    path = urlsplit(url).path
    prefix = f"/file/bot{call.bot.token}/"
    if path.startswith(prefix):
        return call.state.files.at(path[len(prefix) :])
    if path.startswith("/_sandbox/telegram/files/"):
        return call.state.files.get(path.rsplit("/", 1)[1])
    return None


def _caption(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    caption, entities = _formatted(call, "caption", "caption_entities", CAPTION_LIMIT)
    content = {"caption": caption, "caption_entities": entities}
    return content, {"caption": caption or None, "caption_entities": entities or None}


async def send_photo(call: Call) -> dict[str, Any]:
    chat = open_chat(call)
    caption, caption_event = _caption(call)
    stored = _input_file(call, "photo", "photo", "image/jpeg")
    try:
        sizes = await photo_sizes(call.state.files, stored.data)
    except ValueError:
        raise BadCall(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
    photo = file_view(stored, width=sizes[-1]["width"], height=sizes[-1]["height"])
    return post_message(call, chat, {"photo": sizes, **caption}, read_markup(call), {"photo": photo, **caption_event})


async def send_video(call: Call) -> dict[str, Any]:
    chat = open_chat(call)
    caption, caption_event = _caption(call)
    stored = _input_file(call, "video", "video", "video/mp4")
    shape = {name: call.get_int(name, 0) for name in ("width", "height", "duration")}
    video = media_object("video", stored, **shape)
    view = file_view(stored, **shape, supports_streaming=call.get_flag("supports_streaming"))
    return post_message(call, chat, {"video": video, **caption}, read_markup(call), {"video": view, **caption_event})


async def send_document(call: Call) -> dict[str, Any]:
    chat = open_chat(call)
    caption, caption_event = _caption(call)
    stored = _input_file(call, "document", "document", None)
    content = {"document": media_object("document", stored), **caption}
    return post_message(call, chat, content, read_markup(call), {"document": file_view(stored), **caption_event})


def _editable(call: Call) -> tuple[Chat, dict[str, Any]]:
    """The bot's own message an edit method names."""
    if call.get_str("inline_message_id"):
        raise BadCall(400, "Bad Request: MESSAGE_ID_INVALID")  # the sandbox has no inline mode
    if call.params.get("chat_id") is None or call.params.get("message_id") is None:
        raise BadCall(400, "Bad Request: message identifier is not specified")
    chat = open_chat(call)
    message_id = call.get_int("message_id")
    message = chat.message(message_id, missing="message to edit not found")
    if message_id not in chat.bot_message_ids:
        raise BadCall(400, "Bad Request: message can't be edited")
    return chat, message


def _apply_edit(message: dict[str, Any], changes: dict[str, Any], markup: Markup) -> None:
    """Change ``message``, or Telegram's "message is not modified" when nothing would change.
    As in Telegram, an edit without reply_markup removes the inline keyboard."""
    changes = {**changes, "reply_markup": markup.inline}
    if all(message.get(key) == (value or None) for key, value in changes.items()):
        raise BadCall(400, NOT_MODIFIED)
    for key, value in changes.items():
        if value:
            message[key] = value
        else:
            message.pop(key, None)
    message["edit_date"] = int(time.time())


async def edit_message_text(call: Call) -> dict[str, Any]:
    chat, message = _editable(call)
    if "text" not in message:
        raise BadCall(400, "Bad Request: there is no text in the message to edit")
    text, entities = _formatted(call, "text", "entities", TEXT_LIMIT)
    if not text.strip():
        raise BadCall(400, "Bad Request: message text is empty")
    markup = read_markup(call)
    _apply_edit(message, {"text": text, "entities": entities}, markup)
    chat.record(call.state.next_seq(), "edit", message_id=message["message_id"], text=text, entities=entities or None,
                parse_mode=call.get_str("parse_mode"), reply_markup=markup.sent)  # fmt: skip
    return message


async def edit_message_caption(call: Call) -> dict[str, Any]:
    chat, message = _editable(call)
    if "text" in message:
        raise BadCall(400, "Bad Request: there is no caption in the message to edit")
    caption, caption_event = _caption(call)
    markup = read_markup(call)
    _apply_edit(message, caption, markup)
    chat.record(call.state.next_seq(), "edit", message_id=message["message_id"], parse_mode=call.get_str("parse_mode"),
                reply_markup=markup.sent, **caption_event)  # fmt: skip
    return message


async def edit_message_reply_markup(call: Call) -> dict[str, Any]:
    chat, message = _editable(call)
    markup = read_markup(call)
    _apply_edit(message, {}, markup)
    chat.record(call.state.next_seq(), "markup_edit", message_id=message["message_id"], reply_markup=markup.sent)
    return message


async def delete_message(call: Call) -> bool:
    chat = call.chat()
    message_id = call.get_int("message_id")
    chat.message(message_id, missing="message to delete not found")
    chat.deleted.add(message_id)
    chat.record(call.state.next_seq(), "delete", message_id=message_id)
    return True


async def send_chat_action(call: Call) -> bool:
    chat = open_chat(call)
    action = call.get_str("action")
    if action not in CHAT_ACTIONS:
        raise BadCall(400, "Bad Request: wrong parameter action in request")
    chat.record(call.state.next_seq(), "chat_action", action=action)
    return True


async def answer_callback_query(call: Call) -> bool:
    query_id = call.get_str("callback_query_id")
    pending = call.bot.callbacks.get(query_id)
    if pending is None or pending.answered or time.monotonic() - pending.created > call.state.limits.callback_timeout_s:
        raise BadCall(400, QUERY_TOO_OLD)
    pending.answered = True
    chat = call.bot.chat(pending.chat_id)
    chat.record(call.state.next_seq(), "callback_answer", callback_query_id=query_id, text=call.get_str("text"),
                show_alert=call.get_flag("show_alert"), url=call.get_str("url"))  # fmt: skip
    return True


METHODS = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendVideo": send_video,
    "sendDocument": send_document,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "sendChatAction": send_chat_action,
    "answerCallbackQuery": answer_callback_query,
}
