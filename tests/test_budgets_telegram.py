"""The Telegram budget as aiogram session middleware (neurocards.clients.telegram
.TelegramBudget), against the Telegram stand-in with its flood limits on and a
real Redis: several processes sending at once get no 429 and keep each chat's
order; a broadcast never holds up a seller's chat; a 429 that still comes
pauses that chat for every process.  No timed assertions."""

from __future__ import annotations

import asyncio
import multiprocessing

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from neurocards.clients.telegram import TelegramBudget, sending_in_bulk
from neurocards.limits.budgets import Budgets, try_acquire
from neurocards.limits.limiter import Limiter
from neurocards.redis_clients import reconnecting_async_client, reconnecting_client
from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.telegram import create_app
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.settings import SANDBOX_BOT_TOKEN

#: The stand-in's limits (and ours): 5 messages/s per chat with a burst of 3; 30/s overall.
PER_CHAT_RATE = 5


def budgets_on(redis_url: str) -> Budgets:
    limiter = Limiter(reconnecting_client(redis_url), async_redis_factory=lambda: reconnecting_async_client(redis_url))
    return Budgets(limiter, chat_messages_per_s=PER_CHAT_RATE, messages_per_s=30, bulk_per_s=10)


def send_all(api_url: str, redis_url: str, label: str, chats: list[int], per_chat: int, wait: bool = True) -> list:
    """In its own process: one aiogram Bot with the budget middleware sends ``per_chat``
    numbered messages to each chat, all at once; returns the errors it met."""

    async def main():
        bot = Bot(SANDBOX_BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
        bot.session.middleware(TelegramBudget(budgets_on(redis_url), wait=wait))
        sends = [bot.send_message(chat, f"{label}-{n}") for n in range(per_chat) for chat in chats]
        results = await asyncio.gather(*(asyncio.ensure_future(send) for send in sends), return_exceptions=True)
        await bot.session.close()
        return [repr(result) for result in results if isinstance(result, BaseException)]

    return asyncio.run(main())


@pytest.fixture(scope="module")
def telegram():
    with ThreadedApp(lambda: create_app(per_chat_burst=3, per_chat_rate=PER_CHAT_RATE)) as app:
        yield app


@pytest.fixture
def tg(telegram, redis_client):
    with TelegramSandbox(telegram.url) as client:
        client.reset()
        yield client


def bot_texts(tg: TelegramSandbox, chat: int) -> list[tuple[int, str]]:
    return [(event["seq"], event["text"]) for event in tg.transcript(chat)["events"] if event["type"] == "bot_message"]


def test_two_processes_sending_at_once_get_no_429_and_keep_each_chats_order(telegram, tg, redis_server):
    # Given 40 sellers who wrote to the bot
    chats = list(range(1000, 1040))
    for chat in chats:
        tg.send_text(chat, "hi")

    # When two processes each send 4 messages to every one of them at once (320 in all)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        runs = [pool.apply_async(send_all, (telegram.url, redis_server.url, label, chats, 4)) for label in "ab"]
        errors = [run.get(180) for run in runs]

    # Then nothing was refused (no 429 reached either bot), and each process's messages
    # reached every chat in the order it sent them
    assert errors == [[], []]
    for chat in chats:
        texts = [text for _, text in bot_texts(tg, chat)]
        assert len(texts) == 8
        for label in "ab":
            assert [text for text in texts if text.startswith(label)] == [f"{label}-{n}" for n in range(4)]


def test_a_sellers_chat_never_waits_behind_a_broadcast(telegram, tg, redis_server):
    # Given 30 sellers, one of them about to get a reply while a broadcast goes to all the others
    seller, others = 2000, list(range(2001, 2030))
    for chat in [seller, *others]:
        tg.send_text(chat, "hi")
    budgets = budgets_on(redis_server.url)

    async def main():
        bot = Bot(SANDBOX_BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.url)))
        bot.session.middleware(TelegramBudget(budgets))

        async def broadcast():
            with sending_in_bulk():
                for chat in others:
                    await bot.send_message(chat, "news")

        running = asyncio.ensure_future(broadcast())
        await asyncio.sleep(0)  # the broadcast is under way (10/s: about 3 s for all)
        await bot.send_message(seller, "your video is coming")
        await running
        await bot.session.close()

    asyncio.run(main())

    # Then the seller's reply went out before all but the broadcast's first few messages
    [(reply_seq, _)] = bot_texts(tg, seller)
    broadcast_seqs = sorted(seq for chat in others for seq, _ in bot_texts(tg, chat))
    assert len(broadcast_seqs) == len(others)
    assert sum(seq < reply_seq for seq in broadcast_seqs) <= 3


def test_a_429_pauses_the_chat_for_every_process(telegram, tg, redis_server):
    # Given a chat where Telegram answers the next message with 429, retry after 20 s
    chat = 3000
    tg.send_text(chat, "hi")
    tg.add_fault("retry_after", retry_after=20, count=1, match={"method": "sendMessage"})

    # When a worker-like process (no waiting: it reports 429s) sends there
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        [error] = pool.apply(send_all, (telegram.url, redis_server.url, "w", [chat], 1, False))
    assert "TelegramRetryAfter" in error

    # Then this process finds that chat paused for about those 20 s, and other chats not
    budgets = budgets_on(redis_server.url)
    slot = try_acquire(*budgets.telegram_send(chat))
    assert not slot and slot.refused_by == f"tg-chat:{chat}" and 10 < slot.wait_s <= 20
    assert try_acquire(*budgets.telegram_send(chat + 1))
