"""What the benches share: CPU and memory of a process tree, percentiles, jobs
started the way the bot starts them, and stand-ins that count their 429s.

Every bench runs the real processes (``tests/stack.py``) against the sandbox's
stand-ins on loopback, bounded in count and time, and prints figures; none
asserts anything.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psutil
import redis
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_JPG = ROOT / "neurocards" / "sandbox" / "assets" / "product.jpg"


class TreeSampler(threading.Thread):
    """Samples a process tree every ``period_s``: CPU seconds (user + system) per
    process, kept at their last value so exited children still count, the tree's
    peak RSS, and Redis's peak memory."""

    def __init__(self, root_pid: int, redis_url: str | None = None, period_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.period_s = period_s
        self.cpu: dict[int, float] = {}
        self.rss_peak = 0
        self.redis_peak = 0
        self.stopped = threading.Event()
        self.sample()

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss = 0
        for process in processes:
            try:
                times = process.cpu_times()
                self.cpu[process.pid] = times.user + times.system
                rss += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        self.rss_peak = max(self.rss_peak, rss)
        if self.redis is not None:
            self.redis_peak = max(self.redis_peak, int(self.redis.info("memory")["used_memory"]))

    def cpu_s(self) -> float:
        self.sample()
        return sum(self.cpu.values())

    def run(self) -> None:
        while not self.stopped.wait(self.period_s):
            self.sample()

    def stop(self) -> None:
        self.stopped.set()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def start_jobs(stack, context, count: int, first_user: int = 500_000_000) -> list[str]:
    """What the bot does for each seller (register, store the photo, start the job),
    then every job sent down the pipeline at once, as a crowd would."""
    ids = prepare_jobs(stack, context, count, first_user)
    send_jobs(context, ids)
    return ids


def prepare_jobs(stack, context, count: int, first_user: int = 500_000_000, *,
                 status_messages: bool = False) -> list[str]:
    """Everything the bot does for each seller before the pipeline takes over:
    register, store the photo, create the job with its debit and (with
    ``status_messages``) send the status message the workers then edit."""
    from neurocards import jobs
    from neurocards.users import register

    photo = PRODUCT_JPG.read_bytes()
    prepared = []
    for n in range(count):
        user_id = first_user + n
        stack.tg.send_text(user_id, "/start")
        register(user_id, "en", welcome_credits=1)
        job_id = uuid.uuid4()
        prepared.append((user_id, job_id, context.storage.save_photo(job_id, photo)))
    ids = []
    for user_id, job_id, path in prepared:
        job, _ = jobs.start_job(user_id=user_id, chat_id=user_id, product_info=f"Product {user_id}", language="en",
                                price=1, max_in_flight=2, photo_path=str(path), job_id=job_id)
        if status_messages:
            jobs.set_status_message(job.id, send_status_message(stack, user_id))
        ids.append(str(job.id))
    return ids


def send_status_message(stack, chat_id: int) -> int:
    """The bot's status message in ``chat_id`` (to the Telegram stand-in); its id."""
    import httpx

    from neurocards.settings import SANDBOX_BOT_TOKEN

    url = f"{stack.telegram.url}/bot{SANDBOX_BOT_TOKEN}/sendMessage"
    while True:  # the stand-in keeps Telegram's flood limits: a crowd's status messages wait their turn
        answer = httpx.post(url, json={"chat_id": chat_id, "text": "Preparing"}, timeout=30).json()
        if answer.get("ok"):
            return answer["result"]["message_id"]
        time.sleep(float((answer.get("parameters") or {}).get("retry_after", 1)))


def send_jobs(context, ids: list[str]) -> None:
    """Send each job down the pipeline, all at once, as a crowd would."""
    from neurocards.dispatch import ActorName

    for job_id in ids:
        context.send(ActorName.ENHANCE_PROMPT, job_id)


class AnswerLog:
    """An aiohttp middleware for a stand-in: counts answers by status and keeps,
    for the methods asked for, when each successful answer went out with its
    result (the chat and text of a Telegram message)."""

    def __init__(self, *methods: str) -> None:
        self.methods = set(methods)
        self.statuses: Counter[int] = Counter()
        self.sent: list[tuple[float, str, dict]] = []  # (monotonic time, method, result)

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        response = await handler(request)
        self.statuses[response.status] += 1
        method = request.path.rsplit("/", 1)[-1]
        if method in self.methods and response.status == 200:
            result = json.loads(response.text).get("result") or {}
            self.sent.append((time.monotonic(), method, result))
        return response
