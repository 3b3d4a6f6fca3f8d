"""The shared budgets (neurocards.limiter, neurocards.budgets) on a real Redis:
exact under concurrency from several processes, all-or-nothing, paused for
everyone by a 429.  No timed assertions: grants are checked against Redis's
own clock, which the limiter reports with each grant."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time

import pytest
import redis

from neurocards.limits.budgets import STATUS_RESERVE, Budgets, try_acquire
from neurocards.limits.limiter import Limiter
from neurocards.redis_clients import reconnecting_async_client

PROCESSES = 4


def _hammer(url: str, kind: str, spec: tuple, seconds: float, out) -> None:
    """One process taking from one limit as fast as it is let, for ``seconds``;
    puts the Redis times of its grants on ``out``."""
    client = redis.Redis.from_url(url)
    limiter = Limiter(client)
    limit = limiter.window(*spec) if kind == "window" else limiter.rate(spec[0], spec[1], burst=spec[2])
    grants, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        slot = limiter.take([limit])
        if slot:
            grants.append(slot.at_s)
        else:  # come back somewhere inside the wait, to knock on the window's edge
            time.sleep(min(slot.wait_s, 0.02) * random.random())
    out.put(grants)
    client.close()


def _grants_from_processes(url: str, kind: str, spec: tuple, seconds: float) -> list[float]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_hammer, args=(url, kind, spec, seconds, out)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    grants = sorted(t for _ in workers for t in out.get(timeout=60))
    for worker in workers:
        worker.join(30)
    return grants


def test_a_sliding_window_never_grants_more_than_its_limit_in_any_window(redis_server, redis_client):
    # Given 4 processes taking from one window of 10 grants per 0.5 s for 2 s
    limit, window_s = 10, 0.5
    grants = _grants_from_processes(redis_server.url, "window", ("exact-window", limit, window_s), 2.0)

    # Then no 11 grants ever fell within 0.5 s of each other (KIE's sliding window)...
    assert len(grants) > 2 * limit
    crowded = [(a, b) for a, b in zip(grants, grants[limit:]) if b - a < window_s]
    assert not crowded, f"{len(crowded)} windows held more than {limit} grants"
    # ... and the window was used: a grant came within moments of each slot freeing
    assert len(grants) >= limit * 4


def test_a_rate_never_exceeds_its_burst_plus_its_rate(redis_server, redis_client):
    # Given 4 processes taking from 20/s with a burst of 5 for 1.5 s
    per_s, burst = 20.0, 5
    grants = _grants_from_processes(redis_server.url, "rate", ("exact-rate", per_s, burst), 1.5)

    # Then any stretch of grants holds at most burst + rate x its length (a token bucket's promise)
    assert len(grants) > burst
    for i, first in enumerate(grants):
        for j in range(i + burst, len(grants)):
            # (to Redis's clock's microsecond: a grant the moment its token comes is the bucket's promise kept,
            # and two times of 1.8e9 s apart by 0.9 s come out a hair under it as floats)
            assert j - i + 1 <= burst + per_s * (grants[j] - first + 1e-6), (i, j)


def test_the_bots_messages_never_exceed_its_rate_in_any_second(redis_client):
    # Given a bot sending as fast as its overall Telegram budget lets it, for 2.5 s
    budgets = Budgets(Limiter(redis_client), messages_per_s=30)
    grants, deadline = [], time.monotonic() + 2.5
    while time.monotonic() < deadline:
        slot = try_acquire(*budgets.telegram_send(None))  # (no chat: the overall budget alone)
        if slot:
            grants.append(slot.at_s)
        else:
            time.sleep(min(slot.wait_s, 0.01))

    # Then no second ever held more than 30 (the bucket's burst of 10 rides inside them),
    # and the budget was used
    assert len(grants) > 60
    crowded = [(a, b) for a, b in zip(grants, grants[30:]) if b - a < 1.0]
    assert not crowded, f"{len(crowded)} seconds held more than 30 messages"


def test_a_take_is_all_or_nothing(redis_client):
    # Given a chat with its burst free and the bot's overall budget used up
    budgets = Budgets(Limiter(redis_client), messages_per_s=1, chat_messages_per_s=1)
    chat, overall, _ = budgets.telegram_send(42)
    while try_acquire(overall):
        pass

    # When a message to the chat asks for both
    slot = try_acquire(chat, overall)

    # Then it is refused by the overall budget, with the wait until it frees, and the chat kept its slots
    assert not slot and slot.refused_by == overall.name and 0 < slot.wait_s <= 1.0
    assert try_acquire(chat) and try_acquire(chat) and not try_acquire(chat)


def test_a_pause_is_honoured_and_a_longer_one_kept(redis_client):
    budgets = Budgets(Limiter(redis_client))
    create = budgets.kie_create("key1")
    budgets.pause(create, 5)
    budgets.pause(create, 1)  # a shorter one does not cut the first short

    slot = try_acquire(create)
    assert not slot and slot.refused_by == create.name and 4 < slot.wait_s <= 5
    assert try_acquire(budgets.kie_create("key2")), "another key's budget is its own"


def test_lifted_limits_take_nothing(redis_client):
    budgets = Budgets(Limiter(redis_client), kie_create_limit=0, kie_poll_per_s=0, messages_per_s=0)
    assert budgets.kie_create() is None and budgets.kie_poll() is None and budgets.telegram_global() is None
    assert all(try_acquire(budgets.kie_create()) for _ in range(100))
    assert not redis_client.keys("neurocards:budget:kie*")


def test_bulk_leaves_a_share_to_sellers(redis_client):
    # Given the bot's overall budget with a burst of 10, of which bulk leaves 6
    budgets = Budgets(Limiter(redis_client), messages_per_s=1, chat_messages_per_s=100, bulk_per_s=1e6)

    # When a broadcast takes all it can, each message to another chat
    bulk = sum(bool(try_acquire(*budgets.telegram_bulk(chat))) for chat in range(1000, 1020))

    # Then it stopped with the sellers' share left, which sellers' own chats then get at once
    sellers = sum(bool(try_acquire(*budgets.telegram_send(chat))) for chat in range(1, 20))
    assert bulk == 4 and sellers == 6


def test_status_edits_leave_sends_their_share_of_the_bot_and_of_the_chat(redis_client):
    # Given the bot's budget (a burst of 10, at most 10 in any second) and edits leaving 4 of it
    budgets = Budgets(Limiter(redis_client), messages_per_s=1, chat_messages_per_s=1, status_edit_interval_s=0)

    # When a crowd's status edits take all they can, each in its own chat
    edits = sum(bool(try_acquire(*budgets.telegram_status(chat))) for chat in range(2000, 2020))

    # Then they stopped with the sends' share left, which videos to sellers then get at once
    sends = sum(bool(try_acquire(*budgets.telegram_send(chat))) for chat in range(3000, 3020))
    assert edits == 10 - STATUS_RESERVE and sends == STATUS_RESERVE

    # And in one chat (a burst of 2), an edit leaves the seller's next message its slot
    redis_client.flushall()  # the bot's budget whole again
    budgets = Budgets(Limiter(redis_client), messages_per_s=1000, chat_messages_per_s=1, status_edit_interval_s=0)
    assert try_acquire(*budgets.telegram_status(1))
    assert try_acquire(*budgets.telegram_status(1)).refused_by == "tg-chat:1"
    assert try_acquire(*budgets.telegram_send(1)).granted


def test_a_windows_reserve_is_left_to_callers_without_one(redis_client):
    limiter = Limiter(redis_client)
    low, high = limiter.window("reserved-window", 5, 30.0, reserve=2), limiter.window("reserved-window", 5, 30.0)
    assert [bool(try_acquire(low)) for _ in range(4)] == [True, True, True, False]
    refused = try_acquire(low)
    assert refused.refused_by and refused.wait_s > 29  # it waits for the oldest grant to leave the window
    assert [bool(try_acquire(high)) for _ in range(3)] == [True, True, False]
    with pytest.raises(ValueError):
        limiter.window("reserved-window", 5, 30.0, reserve=5)


def test_a_telegram_429_in_several_chats_pauses_the_bot_for_everyone(redis_client, redis_server):
    retry_after = 3
    budgets = Budgets(Limiter(redis_client, async_redis_factory=lambda: reconnecting_async_client(redis_server.url)))

    async def two_429s():
        await budgets.telegram_rate_limited(7, retry_after)
        one_chat = try_acquire(budgets.telegram_global())
        await budgets.telegram_rate_limited(8, retry_after)
        return one_chat

    # One chat's 429 pauses that chat only; a second chat's in the same second, the bot
    assert asyncio.run(two_429s())
    slot = try_acquire(*budgets.telegram_send(9))
    assert not slot and slot.refused_by == "tg-send" and slot.wait_s > retry_after - 1
    assert not try_acquire(budgets.telegram_chat(7))
