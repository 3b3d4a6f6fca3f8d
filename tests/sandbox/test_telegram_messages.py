"""Telegram contract: the bot's messages (text, HTML, keyboards, edits, photos, videos, files), through aiogram."""

from __future__ import annotations

import hashlib

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, FSInputFile
from aiogram.utils.keyboard import InlineKeyboardBuilder

from neurocards.sandbox.telegram_html import parse_html
from neurocards.sandbox.telegram_spec import BadCall
from neurocards.settings import SANDBOX_BOT_TOKEN
from tests.sandbox.telegram_support import PRODUCT_JPG, SELLER, bot_messages, run
from tests.sandbox.telegram_support import sandbox, tg  # noqa: F401  (fixtures)


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


def test_get_chat_describes_the_seller(sandbox, tg):
    tg.send_text(SELLER, "hi", first_name="Anna", username="anna_shop")
    chat = run(sandbox, lambda bot: bot.get_chat(SELLER))
    assert (chat.id, chat.type, chat.first_name, chat.username) == (SELLER, "private", "Anna", "anna_shop")
