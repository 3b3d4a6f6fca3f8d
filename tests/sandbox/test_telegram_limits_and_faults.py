"""Telegram contract: size limits, flood control, blocked users and injected faults reach aiogram
as the errors Telegram's answers would raise."""

from __future__ import annotations

import httpx
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
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

from tests.sandbox.telegram_support import MB, SELLER, bot_messages, run
from tests.sandbox.telegram_support import sandbox, tg  # noqa: F401  (fixtures)


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
