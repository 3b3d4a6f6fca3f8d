"""The bot under a crowd: reply latency at a steady rate, then a burst.

Starts a real Redis, a SQLite database, the Telegram stand-in with Telegram's
own flood limits (3 at once then 1/s per chat; 30 at once then 30/s per bot)
and ``python bot.py`` (long polling, ``telegram.chat_messages_per_s = 1``).
Sellers who never wrote before send ``/help``; the stand-in times each reply.

1. Steady: ``--steady-rate`` updates/s for ``--steady-s`` s, each from a new
   seller: reply latency p50/p95/p99 from the moment the stand-in queued the
   update to the moment it received the reply (the bot's latency), and from the
   moment the bench's sender asked the stand-in to queue it (the bench's own
   trip to the stand-in included).
2. Burst: ``--burst-rate`` updates/s for ``--burst-s`` s, from sellers who each
   send ``/help`` and, half a second later, ``/balance``: updates answered,
   Telegram 429s, how long after the burst the last reply went (the drain; at
   30 messages/s the budget's pace), the replies' rate, and whether every chat
   got its two replies in order.

    python bench/botload.py --steady-rate 25 --steady-s 20 --burst-rate 200 --burst-s 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import AnswerLog, TreeSampler, percentile  # noqa: E402
from neurocards.sandbox import telegram  # noqa: E402
from neurocards.sandbox.server import ThreadedApp  # noqa: E402
from neurocards.sandbox.telegram_client import TelegramSandbox  # noqa: E402
from neurocards.settings import SANDBOX_BOT_TOKEN  # noqa: E402
from tests.services import RedisServer, wait_until  # noqa: E402
from tests.stack import Stack  # noqa: E402

SENDERS = 8


class QueueLog:
    """An aiohttp middleware for the stand-in: when each seller's message reached
    it to be queued for the bot, ``queued[(user, text)]``."""

    def __init__(self) -> None:
        self.queued: dict[tuple[int, str], float] = {}

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        if request.method == "POST" and request.path.endswith("/send") and "/users/" in request.path:
            at = time.monotonic()
            body = json.loads(await request.read())
            self.queued[(int(request.match_info["user_id"]), body.get("text"))] = at
        return await handler(request)


def send_paced(url: str, schedule: list[tuple[float, int, str]], sent: dict) -> float:
    """Send ``(offset_s, user, text)`` updates at their offsets from a start taken once
    :data:`SENDERS` threads are connected; ``sent[(user, text)]`` = when each was
    sent to the stand-in.  Returns the start."""
    clock: dict[str, float] = {}
    # every sender's connection open before the clock starts (else the first ones queue their
    # updates late, then all at once: a clump of the bench's own making)
    ready = threading.Barrier(SENDERS, action=lambda: clock.setdefault("start", time.monotonic() + 0.2))

    def sender(part: list) -> None:
        with TelegramSandbox(url) as client:
            client.calls()
            ready.wait()
            start = clock["start"]
            for offset, user, text in part:
                delay = start + offset - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent[(user, text)] = time.monotonic()
                client.send_text(user, text, language_code="en")

    threads = [threading.Thread(target=sender, args=(schedule[n::SENDERS],)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clock["start"]


def replies_by_chat(log: AnswerLog, since: float) -> dict[int, list[tuple[float, str]]]:
    chats = defaultdict(list)
    for at, _, result in list(log.sent):
        if at >= since:
            chats[result["chat"]["id"]].append((at, result.get("text", "")))
    return chats


def steady(stack, log: AnswerLog, queue: QueueLog, rate: float, seconds: float) -> str:
    users = [800_000_000 + n for n in range(int(rate * seconds))]
    sent: dict = {}
    began = send_paced(stack.telegram.url, [(n / rate, user, "/help") for n, user in enumerate(users)], sent)
    wait_until(lambda: len(replies_by_chat(log, began)) >= len(users), timeout=60 + seconds, interval=0.2,
               what="the steady phase's replies")
    chats = replies_by_chat(log, began)

    def figures(since: dict) -> str:
        latencies = [(chats[user][0][0] - since[(user, "/help")]) * 1000 for user in users]
        return (f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
                f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms")

    print(f"steady {rate:g} updates/s for {seconds:g} s ({len(users)} updates): reply latency {figures(queue.queued)} "
          f"(from the sender's request: {figures(sent)})")
    return chats[users[0]][0][1]


def burst(stack, log: AnswerLog, rate: float, seconds: float, help_text: str, timeout_s: float) -> None:
    count = int(rate * seconds)
    users = [900_000_000 + n for n in range(count // 2)]
    schedule = sorted([(2 * n / rate, user, "/help") for n, user in enumerate(users)]
                      + [(2 * n / rate + 0.5, user, "/balance") for n, user in enumerate(users)])
    refused_before = log.statuses[429]
    sent: dict = {}
    began = send_paced(stack.telegram.url, schedule, sent)
    ended = max(sent.values())

    def answered() -> int:
        return sum(len(replies) for replies in replies_by_chat(log, began).values())

    try:
        wait_until(lambda: answered() >= 2 * len(users), timeout=timeout_s, interval=0.5,
                   what="every burst update to be answered")
    except TimeoutError:
        print(f"(stopped waiting {timeout_s:.0f} s after the burst began)")
    chats = replies_by_chat(log, began)
    replies = sorted(at for user in users for at, _ in chats[user])
    sent_in_order = [user for user in users if sent[(user, "/help")] < sent[(user, "/balance")]]
    in_order = sum(1 for user in sent_in_order if [text == help_text for _, text in chats[user]] == [True, False])
    latencies = [chats[user][0][0] - sent[(user, "/help")] for user in users if chats[user]]
    print(f"burst {rate:g} updates/s for {seconds:g} s ({len(schedule)} updates, sent in {ended - began:.1f} s): "
          f"answered {answered()}/{len(schedule)}; Telegram 429s {log.statuses[429] - refused_before}; "
          f"last reply {replies[-1] - ended:.1f} s after the burst; replies went at "
          f"{(len(replies) - 1) / (replies[-1] - replies[0]):.1f}/s; chats answered in order "
          f"{in_order}/{len(sent_in_order)} (of those whose two updates were queued in order); /help reply latency p50 {statistics.median(latencies):.1f} s, "
          f"max {max(latencies):.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steady-rate", type=float, default=25)
    parser.add_argument("--steady-s", type=float, default=20)
    parser.add_argument("--burst-rate", type=float, default=200)
    parser.add_argument("--burst-s", type=float, default=20)
    parser.add_argument("--timeout-s", type=float, default=600, help="how long to wait for the burst's replies")
    args = parser.parse_args()

    log, queue = AnswerLog("sendMessage"), QueueLog()

    def telegram_app():
        app = telegram.create_app(tokens=(SANDBOX_BOT_TOKEN,), per_chat_burst=3, per_chat_rate=1.0)
        app.middlewares.append(log.middleware)
        app.middlewares.append(queue.middleware)
        return app

    redis_server = RedisServer()
    folder = Path(tempfile.mkdtemp(prefix="neurocards-bench-"))
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{folder / 'bench.db'}",
                  TELEGRAM__CHAT_MESSAGES_PER_S="1")
    stack.telegram.stop()
    stack.telegram = ThreadedApp(telegram_app)
    stack.tg = TelegramSandbox(stack.telegram.url)
    stack.env["NEUROCARDS_SANDBOX__TELEGRAM_PORT"] = str(stack.telegram.port)
    os.environ.update(stack.env)
    from neurocards.db import init_database
    from neurocards.schema import migrate

    init_database(stack.database_url)
    migrate()
    print(f"stack folder: {stack.dir}", flush=True)
    bot = stack.start_bot()
    wait_until(lambda: "long polling" in stack.log("bot"), timeout=60, what="the bot")
    sampler = TreeSampler(bot.pid)
    try:
        cpu_before = sampler.cpu_s()
        help_text = steady(stack, log, queue, args.steady_rate, args.steady_s)
        if args.burst_s > 0:
            burst(stack, log, args.burst_rate, args.burst_s, help_text, args.timeout_s)
        print(f"bot CPU: {sampler.cpu_s() - cpu_before:.1f} s")
    finally:
        stack.close()
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
