"""Telegram contract: getUpdates, webhooks, callback queries, commands and the control API, through aiogram."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiohttp import web

from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.telegram import TELEGRAM_STATE
from neurocards.settings import SANDBOX_BOT_TOKEN
from tests.sandbox.telegram_support import SELLER, run, until
from tests.sandbox.telegram_support import sandbox, tg  # noqa: F401  (fixtures)
from tests.services import wait_until


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


def test_command_carries_its_bot_command_entity(sandbox, tg):
    tg.send_command(SELLER, "start", "ref_42")
    (update,) = run(sandbox, lambda bot: bot.get_updates(timeout=0))
    (entity,) = update.message.entities
    assert update.message.text == "/start ref_42"
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, len("/start"))


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
