"""The Telegram stand-in against the real aiogram client: every answer parses, and every error
reaches aiogram as the exception Telegram's answer would raise."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import BufferedInputFile, FSInputFile
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiohttp import web

from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.telegram import TELEGRAM_STATE, create_app
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.sandbox.telegram_html import parse_html
from neurocards.sandbox.telegram_spec import BadCall
from neurocards.settings import SANDBOX_BOT_TOKEN
from tests.services import wait_until

PRODUCT_JPG = Path(__file__).resolve().parents[2] / "neurocards" / "sandbox" / "assets" / "product.jpg"
SELLER = 4242
MB = 1024 * 1024


@pytest.fixture(scope="module")
def sandbox():
    with ThreadedApp(create_app) as app:
        yield app


@pytest.fixture
def tg(sandbox):
    """The control client, on a stand-in reset to a fresh start."""
    with TelegramSandbox(sandbox.url) as client:
        client.reset()
        yield client


class LoopbackSession(AiohttpSession):
    """aiogram's own session; closing skips the 250 ms it waits for TLS connections to wind
    down, as plain HTTP on loopback has none."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def run(sandbox: ThreadedApp, scenario: Callable[[Bot], Awaitable[Any]], token: str = SANDBOX_BOT_TOKEN) -> Any:
    """Run ``scenario`` with a real aiogram Bot pointed at the stand-in."""

    async def main() -> Any:
        session = LoopbackSession(api=TelegramAPIServer.from_base(sandbox.url))
        async with Bot(token, session=session) as bot:
            return await scenario(bot)

    return asyncio.run(main())


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` on the event loop until it is truthy (fail after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
    return value


def bot_messages(tg: TelegramSandbox, chat_id: int = SELLER) -> list[dict]:
    return [event for event in tg.transcript(chat_id)["events"] if event["type"] == "bot_message"]


def test_get_me_describes_the_sandbox_bot(sandbox, tg):
    # When the bot asks who it is
    me = run(sandbox, lambda bot: bot.get_me())
    # Then it is the bot the token names
    assert me.id == int(SANDBOX_BOT_TOKEN.split(":")[0]) and me.is_bot and me.username


def test_long_poll_waits_for_a_photo_with_its_caption(sandbox, tg):
    state = sandbox.app[TELEGRAM_STATE]

    async def scenario(bot: Bot):
        # Given the bot waiting in getUpdates
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await until(lambda: state.default_bot.updates.polling)
        # When the seller sends a photo with a caption
        tg.send_photo(SELLER, caption="Blue bottle, 500 ml")
        return await poll

    updates = run(sandbox, scenario)
    # Then the waiting poll returns it: several sizes, the original last
    message = updates[0].message
    assert message.caption == "Blue bottle, 500 ml"
    assert [size.width for size in message.photo] == sorted(size.width for size in message.photo)
    assert (message.photo[-1].width, message.photo[-1].height) == (768, 1024) and len(message.photo) > 1
    assert message.from_user.language_code == "ru" and message.chat.type == "private"


def test_get_updates_returns_document_and_press_then_confirms_them(sandbox, tg):
    # Given a document from the seller and a button the bot sent
    tg.send_document(SELLER, file_name="mug.jpg")
    keyboard = InlineKeyboardBuilder().button(text="Again", callback_data="again:7").as_markup()
    run(sandbox, lambda bot: bot.send_message(SELLER, "Done", reply_markup=keyboard))
    # When the seller presses it and the bot polls
    pressed = tg.press(SELLER, text="Again")

    async def scenario(bot: Bot):
        updates = await bot.get_updates(timeout=1)
        return updates, await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

    updates, after = run(sandbox, scenario)
    # Then both arrive in order, and the offset confirms them
    document, callback = updates[0].message.document, updates[1].callback_query
    assert document.file_name == "mug.jpg" and document.mime_type == "image/jpeg"
    assert callback.id == pressed["callback_query_id"] and callback.data == "again:7"
    assert callback.message.text == "Done" and callback.chat_instance
    assert updates[0].update_id < updates[1].update_id == pressed["update_id"]
    assert after == []


def test_allowed_updates_leave_out_other_kinds(sandbox, tg):
    # Given a bot that asked for messages only
    run(sandbox, lambda bot: bot.get_updates(allowed_updates=["message"], timeout=0))
    # When the seller blocks the bot and later writes
    blocked = tg.block(SELLER)
    sent = tg.send_text(SELLER, "hello")
    updates = run(sandbox, lambda bot: bot.get_updates(timeout=0))
    # Then the my_chat_member changes were never queued, the message was
    assert blocked["update_id"] is None
    assert [update.update_id for update in updates] == [sent["update_id"]]


def test_second_poll_terminates_the_first(sandbox, tg):
    state = sandbox.app[TELEGRAM_STATE]

    async def scenario(bot: Bot):
        # Given one getUpdates waiting
        first = asyncio.create_task(bot.get_updates(timeout=10))
        await until(lambda: state.default_bot.updates.polling)
        # When a second instance polls the same token
        second = asyncio.create_task(bot.get_updates(timeout=0))
        # Then the first is terminated with a conflict
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
            await first
        return await second

    assert run(sandbox, scenario) == []


def test_send_message_with_keyboard_appears_in_the_transcript(sandbox, tg):
    tg.send_command(SELLER, "start")
    builder = InlineKeyboardBuilder()
    builder.button(text="Generate", callback_data="generate")
    builder.button(text="Balance", callback_data="balance")
    builder.adjust(1)
    # When the bot sends a message with two buttons
    sent = run(sandbox, lambda bot: bot.send_message(SELLER, "Welcome!", reply_markup=builder.as_markup()))
    # Then aiogram gets them back, and the transcript shows them
    assert [row[0].callback_data for row in sent.reply_markup.inline_keyboard] == ["generate", "balance"]
    (event,) = bot_messages(tg)
    assert event["text"] == "Welcome!" and event["message_id"] == sent.message_id
    assert event["reply_markup"]["inline_keyboard"] == [
        [{"text": "Generate", "callback_data": "generate"}],
        [{"text": "Balance", "callback_data": "balance"}],
    ]
    assert tg.transcript(SELLER)["events"][0]["text"] == "/start"


def test_command_carries_its_bot_command_entity(sandbox, tg):
    tg.send_command(SELLER, "start", "ref_42")
    (update,) = run(sandbox, lambda bot: bot.get_updates(timeout=0))
    (entity,) = update.message.entities
    assert update.message.text == "/start ref_42"
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, len("/start"))


def test_edit_text_then_the_same_edit_is_not_modified(sandbox, tg):
    tg.send_text(SELLER, "hi")

    async def scenario(bot: Bot):
        sent = await bot.send_message(SELLER, "Step 1 of 3")
        # When the bot edits it, then repeats the same edit
        edited = await bot.edit_message_text("Step 2 of 3", chat_id=SELLER, message_id=sent.message_id)
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await bot.edit_message_text("Step 2 of 3", chat_id=SELLER, message_id=sent.message_id)
        return sent, edited

    sent, edited = run(sandbox, scenario)
    # Then the edit is kept once, with its edit_date
    assert edited.text == "Step 2 of 3" and edited.edit_date
    transcript = tg.transcript(SELLER)
    assert [e["type"] for e in transcript["events"]] == ["user_message", "bot_message", "edit"]
    assert transcript["messages"][str(sent.message_id)]["text"] == "Step 2 of 3"


def test_edit_and_delete_of_unknown_messages_are_refused(sandbox, tg):
    tg.send_text(SELLER, "hi")

    async def scenario(bot: Bot):
        with pytest.raises(TelegramBadRequest, match="message to edit not found"):
            await bot.edit_message_text("x", chat_id=SELLER, message_id=999)
        sent = await bot.send_message(SELLER, "temporary")
        assert await bot.delete_message(SELLER, sent.message_id) is True
        with pytest.raises(TelegramBadRequest, match="message to delete not found"):
            await bot.delete_message(SELLER, sent.message_id)
        return sent

    sent = run(sandbox, scenario)
    assert tg.transcript(SELLER)["messages"][str(sent.message_id)]["deleted"] is True


def test_edit_without_markup_removes_the_keyboard_and_markup_edits_are_recorded(sandbox, tg):
    tg.send_text(SELLER, "hi")
    keyboard = InlineKeyboardBuilder().button(text="Cancel", callback_data="cancel").as_markup()

    async def scenario(bot: Bot):
        sent = await bot.send_message(SELLER, "Working", reply_markup=keyboard)
        removed = await bot.edit_message_reply_markup(chat_id=SELLER, message_id=sent.message_id)
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await bot.edit_message_reply_markup(chat_id=SELLER, message_id=sent.message_id)
        return removed

    tg.set_limits(flood=False)
    removed = run(sandbox, scenario)
    assert removed.reply_markup is None
    assert tg.transcript(SELLER)["events"][-1]["type"] == "markup_edit"


def test_html_is_parsed_and_malformed_html_refused(sandbox, tg):
    tg.send_text(SELLER, "hi")

    async def scenario(bot: Bot):
        html = "<b>Mug</b> &amp; AT&T <a href='https://x.example'>shop</a>"
        sent = await bot.send_message(SELLER, html, parse_mode="HTML")
        with pytest.raises(TelegramBadRequest, match="can't parse entities: Can't find end tag"):
            await bot.send_message(SELLER, "<b>unclosed", parse_mode="HTML")
        with pytest.raises(TelegramBadRequest, match='Unsupported start tag "3"'):
            await bot.send_message(SELLER, "price <3 euro", parse_mode="HTML")
        return sent

    sent = run(sandbox, scenario)
    assert sent.text == "Mug & AT&T shop"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 3), ("text_link", 11, 4)]


def test_html_parser_counts_utf16_and_knows_telegram_tags():
    text, entities = parse_html('👍 <i>x</i> <pre><code class="language-py">a</code></pre><tg-spoiler>s</tg-spoiler>')
    assert text == "👍 x as"
    assert entities == [
        {"type": "italic", "offset": 3, "length": 1},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
        {"type": "spoiler", "offset": 6, "length": 1},
    ]
    for bad in ("<span>x</span>", "<b>x</i>", "x</b>", "<b"):
        with pytest.raises(BadCall, match="can't parse entities"):
            parse_html(bad)


def test_text_and_caption_limits(sandbox, tg, tmp_path):
    tg.send_text(SELLER, "hi")

    async def scenario(bot: Bot):
        with pytest.raises(TelegramBadRequest, match="message is too long"):
            await bot.send_message(SELLER, "x" * 4097)
        with pytest.raises(TelegramBadRequest, match="message caption is too long"):
            await bot.send_document(SELLER, BufferedInputFile(b"data", "a.txt"), caption="x" * 1025)
        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(SELLER, "   ")

    run(sandbox, scenario)
    assert bot_messages(tg) == []


def test_send_video_from_a_file_stores_the_exact_bytes(sandbox, tg, tmp_path):
    tg.send_text(SELLER, "hi")
    video = tmp_path / "promo.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 1200)

    async def scenario(bot: Bot):
        # When the bot uploads the file, then sends it again by file_id
        first = await bot.send_video(SELLER, FSInputFile(video), supports_streaming=True, width=720, height=1280,
                                     duration=8, caption="Your video")  # fmt: skip
        again = await bot.send_video(SELLER, first.video.file_id)
        return first, again

    first, again = run(sandbox, scenario)
    # Then Telegram holds exactly those bytes
    assert (first.video.width, first.video.height, first.video.duration) == (720, 1280, 8)
    assert first.video.file_size == video.stat().st_size and again.video.file_id == first.video.file_id
    event = bot_messages(tg)[0]
    assert event["video"]["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert event["video"]["supports_streaming"] is True and event["caption"] == "Your video"
    assert tg.file_bytes(first.video.file_id) == video.read_bytes()


def test_send_photo_then_edit_its_caption(sandbox, tg):
    tg.send_text(SELLER, "hi")
    tiny = (PRODUCT_JPG.parent / "tiny.png").read_bytes()

    async def scenario(bot: Bot):
        photo = BufferedInputFile(tiny, "tiny.png")
        sent = await bot.send_photo(SELLER, photo, caption="<i>Draft</i>", parse_mode="HTML")
        edited = await bot.edit_message_caption(chat_id=SELLER, message_id=sent.message_id, caption="Final")
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await bot.edit_message_caption(chat_id=SELLER, message_id=sent.message_id, caption="Final")
        return sent, edited

    tg.set_limits(flood=False)
    sent, edited = run(sandbox, scenario)
    assert (sent.photo[-1].width, sent.photo[-1].height) == (100, 100)
    assert sent.caption == "Draft" and sent.caption_entities[0].type == "italic"
    assert edited.caption == "Final" and not edited.caption_entities
    assert bot_messages(tg)[0]["photo"]["sha256"] == hashlib.sha256(tiny).hexdigest()


def test_a_file_url_of_the_sandbox_itself_is_fetched(sandbox, tg):
    # Given a seller's photo, and its download URL
    photo = tg.send_photo(SELLER)["message"]["photo"][-1]

    async def scenario(bot: Bot):
        file = await bot.get_file(photo["file_id"])
        # When the bot sends that URL as a document
        return await bot.send_document(SELLER, f"{sandbox.url}/file/bot{SANDBOX_BOT_TOKEN}/{file.file_path}")

    sent = run(sandbox, scenario)
    # Then Telegram "downloaded" it: the same bytes
    assert tg.file_bytes(sent.document.file_id) == PRODUCT_JPG.read_bytes()


def test_every_kind_of_user_message_parses_in_aiogram(sandbox, tg):
    tg.send_sticker(SELLER, emoji="🔥")
    tg.send_voice(SELLER, duration=3)
    tg.send_video(SELLER, width=1080, height=1920, duration=6)
    tg.send_photo(SELLER, media_group_id="album-1", width=3000, height=4000)
    sticker, voice, video, photo = (u.message for u in run(sandbox, lambda bot: bot.get_updates(timeout=0)))
    assert sticker.sticker.emoji == "🔥" and voice.voice.duration == 3
    assert (video.video.width, video.video.height, video.video.duration) == (1080, 1920, 6)
    assert photo.media_group_id == "album-1" and (photo.photo[-1].width, photo.photo[-1].height) == (3000, 4000)
    assert [m.message_id for m in (sticker, voice, video, photo)] == [1, 2, 3, 4]


def test_files_by_url_or_unknown_id_are_refused(sandbox, tg):
    tg.send_text(SELLER, "hi")

    async def scenario(bot: Bot):
        with pytest.raises(TelegramBadRequest, match="failed to get HTTP URL content"):
            await bot.send_video(SELLER, "https://cdn.example.com/video.mp4")
        with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
            await bot.send_document(SELLER, "no-such-file-id")

    run(sandbox, scenario)


def test_get_file_and_download_return_the_photo(sandbox, tg):
    # Given a seller's photo
    photo = tg.send_photo(SELLER)["message"]["photo"][-1]

    async def scenario(bot: Bot):
        # When the bot downloads the largest size
        file = await bot.get_file(photo["file_id"])
        return file, (await bot.download(file)).read()

    file, data = run(sandbox, scenario)
    # Then it gets the JPEG the seller sent
    assert file.file_path.endswith(".jpg") and file.file_size == len(data)
    assert data == PRODUCT_JPG.read_bytes()


def test_get_file_over_20_mb_is_too_big(sandbox, tg):
    photo = tg.send_photo(SELLER, file_size=25 * MB)["message"]["photo"][-1]
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        run(sandbox, lambda bot: bot.get_file(photo["file_id"]))


def test_upload_over_50_mb_is_entity_too_large(sandbox, tg, tmp_path):
    tg.send_text(SELLER, "hi")
    big = tmp_path / "big.mp4"
    with big.open("wb") as file:
        file.truncate(50 * MB + 1)  # sparse: nothing written to disk
    with pytest.raises(TelegramEntityTooLarge):
        run(sandbox, lambda bot: bot.send_video(SELLER, FSInputFile(big, chunk_size=4 * MB)))
    assert bot_messages(tg) == []


def test_unknown_chat_is_not_found(sandbox, tg):
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        run(sandbox, lambda bot: bot.send_message(777, "hello?"))
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        run(sandbox, lambda bot: bot.get_chat(777))


def test_get_chat_describes_the_seller(sandbox, tg):
    tg.send_text(SELLER, "hi", first_name="Anna", username="anna_shop")
    chat = run(sandbox, lambda bot: bot.get_chat(SELLER))
    assert (chat.id, chat.type, chat.first_name, chat.username) == (SELLER, "private", "Anna", "anna_shop")


def test_flood_control_answers_retry_after(sandbox, tg):
    tg.send_text(SELLER, "hi")
    tg.set_limits(per_chat_rate=0.01)  # the burst of 3, then one message per 100 s

    async def scenario(bot: Bot):
        for n in range(3):
            await bot.send_message(SELLER, f"message {n}")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(SELLER, "one too many")
        # Flood control counts sending, not polling or chat actions
        await bot.get_updates(timeout=0)
        await bot.send_chat_action(SELLER, "upload_video")
        return caught.value

    error = run(sandbox, scenario)
    assert error.retry_after >= 1 and "retry after" in error.message
    assert len(bot_messages(tg)) == 3


def test_retry_after_fault_reaches_aiogram_once(sandbox, tg):
    tg.send_text(SELLER, "hi")
    tg.add_fault("retry_after", retry_after=7, count=1, match={"method": "sendMessage", "chat_id": SELLER})

    async def scenario(bot: Bot):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(SELLER, "first")
        await bot.send_message(SELLER, "second")
        return caught.value

    assert run(sandbox, scenario).retry_after == 7
    assert [event["text"] for event in bot_messages(tg)] == ["second"]
    assert tg.calls()["sendMessage"] == 2


def test_blocked_user_is_forbidden(sandbox, tg):
    tg.send_text(SELLER, "hi")
    tg.block(SELLER)

    async def scenario(bot: Bot):
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(SELLER, "are you there?")
        return await bot.get_updates(timeout=0)

    updates = run(sandbox, scenario)
    assert updates[-1].my_chat_member.new_chat_member.status == "kicked"
    # And writing again unblocks, as restarting the bot does
    tg.send_text(SELLER, "back")
    assert run(sandbox, lambda bot: bot.send_message(SELLER, "welcome back")).text == "welcome back"


@pytest.mark.parametrize(
    ("fault", "params", "error", "match"),
    [
        ("server_error", {}, TelegramServerError, "Internal Server Error"),
        ("bad_gateway", {}, ClientDecodeError, "Failed to decode"),
        ("entity_too_large", {}, TelegramEntityTooLarge, "Request Entity Too Large"),
        ("forbidden", {}, TelegramForbiddenError, "blocked"),
        ("bad_request", {"description": "Bad Request: chat not found"}, TelegramBadRequest, "chat not found"),
        ("network_drop", {}, TelegramNetworkError, "ServerDisconnectedError|ClientOSError"),
    ],
)
def test_faults_reach_aiogram_as_telegram_errors(sandbox, tg, fault, params, error, match):
    tg.send_text(SELLER, "hi")
    tg.add_fault(fault, match={"method": "sendMessage"}, count=1, **params)
    with pytest.raises(error, match=match):
        run(sandbox, lambda bot: bot.send_message(SELLER, "hello"))
    # The fault fired once; the next call goes through
    assert run(sandbox, lambda bot: bot.send_message(SELLER, "hello")).text == "hello"


def test_slow_fault_times_out_a_short_request(sandbox, tg):
    # Given getMe slowed down well past the client's timeout
    tg.add_fault("slow", match={"method": "getMe"}, count=1, delay_s=1)
    # Then aiogram gives up with its timeout error, and the delay was applied
    with pytest.raises(TelegramNetworkError, match="Request timeout error"):
        run(sandbox, lambda bot: bot.get_me(request_timeout=0.2))
    assert httpx.get(f"{sandbox.url}/_sandbox/scenario").json()["faults"][0]["fired"] == 1


def test_unknown_token_is_unauthorized(sandbox, tg):
    with pytest.raises(TelegramUnauthorizedError):
        run(sandbox, lambda bot: bot.get_me(), token="999999:not-a-registered-token")
    # Until it is registered
    tg.register_token("999999:not-a-registered-token")
    assert run(sandbox, lambda bot: bot.get_me(), token="999999:not-a-registered-token").id == 999999


def test_unknown_parameter_and_method_are_refused(sandbox, tg):
    tg.send_text(SELLER, "hi")

    class LaunchRocket(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "launchRocket"

    async def scenario(bot: Bot):
        with pytest.raises(TelegramBadRequest, match="unknown parameter 'parse_mod'"):
            await bot(SendMessage(chat_id=SELLER, text="hi", parse_mod="HTML"))
        with pytest.raises(TelegramNotFound, match="method not found"):
            await bot(LaunchRocket())

    run(sandbox, scenario)


def test_json_urlencoded_and_get_calls_are_understood(sandbox, tg):
    tg.send_text(SELLER, "hi")
    base = f"{sandbox.url}/bot{SANDBOX_BOT_TOKEN}"
    by_json = httpx.post(f"{base}/sendMessage", json={"chat_id": SELLER, "text": "json", "reply_markup": None})
    by_form = httpx.post(f"{base}/SENDMESSAGE", data={"chat_id": str(SELLER), "text": "form"})
    by_get = httpx.get(f"{base}/getMe")
    missing = httpx.post(f"{base}/sendMessage", json={"chat_id": SELLER})
    assert by_json.json()["result"]["text"] == "json" and by_form.json()["result"]["text"] == "form"
    assert by_get.json()["result"]["is_bot"] is True
    assert missing.status_code == 400 and missing.json()["description"] == "Bad Request: text is required"


def test_callback_answers_once_and_forged_data_is_delivered(sandbox, tg):
    tg.send_text(SELLER, "hi")
    keyboard = InlineKeyboardBuilder().button(text="Again", callback_data="again:1").as_markup()
    sent = run(sandbox, lambda bot: bot.send_message(SELLER, "Video ready", reply_markup=keyboard))
    pressed = tg.press(SELLER, callback_data="again:1")
    forged = tg.press(SELLER, callback_data="again:999", message_id=sent.message_id)

    async def scenario(bot: Bot):
        await bot.answer_callback_query(pressed["callback_query_id"], text="On it")
        with pytest.raises(TelegramBadRequest, match="query is too old"):
            await bot.answer_callback_query(pressed["callback_query_id"])
        return await bot.get_updates(timeout=0)

    updates = run(sandbox, scenario)
    assert [u.callback_query.data for u in updates if u.callback_query] == ["again:1", "again:999"]
    assert forged["update_id"] > pressed["update_id"]
    (answer,) = [e for e in tg.transcript(SELLER)["events"] if e["type"] == "callback_answer"]
    assert answer["callback_query_id"] == pressed["callback_query_id"]
    assert (answer["text"], answer["show_alert"]) == ("On it", False)


def test_commands_are_kept_per_language(sandbox, tg):
    from aiogram.types import BotCommand

    async def scenario(bot: Bot):
        await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
        ru, default = await bot.get_my_commands(language_code="ru"), await bot.get_my_commands()
        await bot.delete_my_commands(language_code="ru")
        return ru, default, await bot.get_my_commands(language_code="ru")

    ru, default, deleted = run(sandbox, scenario)
    assert [c.command for c in ru] == ["start"] and default == [] and deleted == []


def test_webhook_posts_updates_with_the_secret_and_blocks_get_updates(sandbox, tg):
    received: list[tuple[str | None, dict]] = []

    def receiver() -> web.Application:
        async def take(request: web.Request) -> web.Response:
            received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
            return web.Response()

        app = web.Application()
        app.router.add_post("/hook", take)
        return app

    with ThreadedApp(receiver) as hook:

        async def set_up(bot: Bot):
            await bot.set_webhook(f"{hook.url}/hook", secret_token="s3cret-token")
            with pytest.raises(TelegramConflictError, match="webhook is active"):
                await bot.get_updates()
            return await bot.get_webhook_info()

        info = run(sandbox, set_up)
        # When the seller writes
        sent = tg.send_text(SELLER, "hello webhook")
        wait_until(lambda: received, timeout=5, what="the webhook post")
    # Then the update was posted with the secret header
    secret, update = received[0]
    assert secret == "s3cret-token" and update["update_id"] == sent["update_id"]
    assert update["message"]["text"] == "hello webhook"
    assert info.url == f"{hook.url}/hook"
    assert run(sandbox, lambda bot: bot.delete_webhook()) is True
    assert run(sandbox, lambda bot: bot.get_updates(timeout=0)) == []


def test_delete_webhook_can_drop_pending_updates(sandbox, tg):
    # Given updates waiting while a webhook points nowhere reachable
    tg.send_text(SELLER, "one")
    tg.send_text(SELLER, "two")

    async def scenario(bot: Bot):
        await bot.set_webhook("http://127.0.0.1:9/unreachable")
        pending = (await bot.get_webhook_info()).pending_update_count
        # When the webhook is deleted with drop_pending_updates
        await bot.delete_webhook(drop_pending_updates=True)
        return pending, await bot.get_updates(timeout=0)

    pending, updates = run(sandbox, scenario)
    # Then they are gone
    assert pending == 2 and updates == []


def test_reset_forgets_chats_but_update_ids_keep_growing(sandbox, tg):
    first = tg.send_text(SELLER, "before")
    tg.reset()
    with pytest.raises(Exception, match="404"):
        tg.transcript(SELLER)
    assert tg.send_text(SELLER, "after")["update_id"] > first["update_id"]
