"""Chaos: N jobs through the stack while it is broken on purpose, then the ends and the money counted.

Starts, on loopback only, a Redis and a database of its own (PostgreSQL by
default), the sandbox stand-ins, two workers and the watchdog, and starts
N jobs (the bot's part: seller registered, photo stored, job created with its
debit, first message sent) over the first third of a chaos window.  During the
window it

- SIGKILLs a worker's process group every few seconds, the workers in turn, a
  few seconds after every worker is up (a worker takes a while to boot: aiogram's
  types alone are seconds of CPU), and starts a new one;
- restarts Redis twice: once with its data, once empty (everything queued lost);
- fast-restarts PostgreSQL (every connection cut), with --engine postgres;
- makes 20 % of KIE's API calls fail (code 500 in KIE's envelope: uploads, creates,
  polls; the result file itself comes from KIE's CDN, not its API);
- sends Telegram 429 bursts (retry_after 1 s) every few seconds.

Then it waits (bounded) for every job to end and prints, asserting nothing:
jobs done / failed with their refund / not ended; double debits, double
refunds, refunds of delivered jobs, duplicate video sends; the watchdog's
rescues; and ``neurocards audit``'s verdict.

    python bench/chaos.py --jobs 100
    python bench/chaos.py --jobs 300 --generation-s 5 --chaos-s 120
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.services import PostgresServer, RedisServer  # noqa: E402
from tests.stack import Stack  # noqa: E402

#: The most jobs and seconds this bench will take on (it runs on one machine, on loopback).
MAX_JOBS, MAX_TIMEOUT_S = 2000, 3600

#: Durations shrunk like the tests', in production's proportions: polls every ≤ 2 s, a
#: killed worker's messages back after 5 s, each watchdog limit above its stage's gaps and
#: its actor's time limit, a job failed by the watchdog (and refunded) after 5 minutes stuck.
CHAOS_SETTINGS = {
    "KIE__POLL_FIRST_S": "1",
    "KIE__POLL_MAX_S": "2",
    "KIE__DEADLINE_S": "60",
    "PIPELINE__MAX_RETRIES": "5",
    "PIPELINE__MIN_BACKOFF_S": "0.5",
    "PIPELINE__MAX_BACKOFF_S": "5",
    "PIPELINE__SUBMIT_TIME_LIMIT_S": "8",
    "PIPELINE__DOWNLOAD_TIME_LIMIT_S": "15",
    "PIPELINE__DELIVER_TIME_LIMIT_S": "15",
    "PIPELINE__NOTIFY_TIME_LIMIT_S": "8",
    "WORKER__HEARTBEAT_TIMEOUT_S": "5",
    "WATCHDOG__PERIOD_S": "1",
    "WATCHDOG__LEASE_S": "5",
    "WATCHDOG__CREATED_S": "10",
    "WATCHDOG__ENHANCING_S": "20",
    "WATCHDOG__GENERATING_S": "10",
    "WATCHDOG__DOWNLOADING_S": "20",
    "WATCHDOG__DELIVERING_S": "20",
    "WATCHDOG__UNNOTIFIED_S": "10",
    "WATCHDOG__DEADLINE_S": "300",
}

#: KIE's API calls the pipeline makes (the sandbox's names for them).
KIE_API_ENDPOINTS = ("upload", "generate", "record-info")

PHOTO = (ROOT / "neurocards" / "sandbox" / "assets" / "product.jpg").read_bytes()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the jobs ---------------------------------------------------------------------------------


def start_jobs(stack: Stack, count: int, over_s: float, stop: threading.Event) -> list[str]:
    """Start ``count`` jobs evenly over ``over_s`` seconds, as the bot would: a start
    that meets the database away is tried again with the same job id (so it starts
    one job); a first message that meets Redis away is left to the watchdog."""
    from neurocards import jobs
    from neurocards.dispatch import ActorName
    from neurocards.users import register

    context = stack.context
    ids, unsent = [], 0
    for n in range(count):
        if stop.is_set():
            break
        user_id, job_id = 600_000_000 + n, uuid.uuid4()
        stack.tg.send_text(user_id, "/start")
        job = retry(lambda: _start(context, jobs, register, user_id, job_id, n), stop)
        ids.append(str(job.id))
        try:
            context.send(ActorName.ENHANCE_PROMPT, str(job.id))
        except Exception:  # Redis restarting: committed, not enqueued (the watchdog's case)
            unsent += 1
        time.sleep(over_s / count)
    log(f"{len(ids)} jobs started ({unsent} of them never enqueued: Redis was away)")
    return ids


def _start(context, jobs, register, user_id: int, job_id, n: int):
    register(user_id, "en", welcome_credits=1)
    path = context.storage.save_photo(job_id, PHOTO)
    job, _ = jobs.start_job(user_id=user_id, chat_id=user_id, product_info=f"Product {n}", language="en", price=1,
                            max_in_flight=2, photo_path=str(path), job_id=job_id)
    return job


def retry(attempt, stop: threading.Event):
    while True:
        try:
            return attempt()
        except Exception:
            if stop.is_set():
                raise
            time.sleep(0.5)


# -- the chaos --------------------------------------------------------------------------------


class Chaos(threading.Thread):
    """Breaks the stack on a schedule for ``chaos_s`` seconds (see the module's docstring),
    while a second thread kills the workers in turn, ``kill_every_s`` after each is ready."""

    def __init__(self, stack: Stack, redis_server: RedisServer, postgres: PostgresServer | None, args) -> None:
        super().__init__(daemon=True)
        self.stack, self.redis_server, self.postgres, self.args = stack, redis_server, postgres, args
        self.counts: collections.Counter = collections.Counter()
        self.stop = threading.Event()
        self.killer = threading.Thread(target=self.kill_workers, daemon=True)

    def schedule(self) -> list[tuple[float, str]]:
        length, args = self.args.chaos_s, self.args
        events = [(t, "telegram_429") for t in frange(args.burst_every_s / 2, length, args.burst_every_s)]
        events += [(length * 0.25, "redis_restart_with_data"), (length * 0.5, "redis_restart_empty")]
        if self.postgres is not None:
            events.append((length * 0.75, "postgres_restart"))
        return sorted(events)

    def run(self) -> None:
        started = time.monotonic()
        for endpoint in KIE_API_ENDPOINTS:
            self.stack.fault("kie", "code", rate=self.args.kie_failure_rate, params={"code": 500},
                             match={"endpoint": endpoint})
        self.killer.start()
        for at, action in [*self.schedule(), (self.args.chaos_s, "")]:
            if self.stop.wait(max(0.0, started + at - time.monotonic())) or not action:
                break
            try:
                getattr(self, action)()
                self.counts[action] += 1
            except Exception as exc:
                log(f"chaos: {action} failed: {type(exc).__name__}: {exc}")
        self.stop.set()
        self.killer.join()
        httpx.delete(f"{self.stack.kie.url}/_sandbox/scenario").raise_for_status()
        log(f"chaos over: {dict(self.counts)}")

    def kill_workers(self) -> None:
        """SIGKILL the workers in turn, each ``kill_every_s`` after every worker is up
        (so one is always working), and start it again; until stopped."""
        names = [worker_name(n) for n in range(self.args.workers)]
        for turn in itertools.count():
            name = names[turn % len(names)]
            if not all(self.wait_until_ready(each) for each in names) or self.stop.wait(self.args.kill_every_s):
                return
            self.stack.kill(name)
            start_worker(self.stack, name, self.args.threads)
            self.counts["kill_worker"] += 1

    def wait_until_ready(self, name: str) -> bool:
        """Until the worker's latest start has booted; False when stopped first."""
        while not self.stop.is_set():
            if self.stack.log(name).count("Worker process is ready for action") >= self.stack.starts[name]:
                return True
            time.sleep(0.2)
        return False

    def telegram_429(self) -> None:
        self.stack.fault("telegram", "retry_after", count=self.args.burst_size, params={"retry_after": 1})

    def redis_restart_with_data(self) -> None:
        log("chaos: Redis restarts with its data")
        self.redis_server.restart(keep_data=True)

    def redis_restart_empty(self) -> None:
        log("chaos: Redis restarts EMPTY")
        self.redis_server.restart(keep_data=False)

    def postgres_restart(self) -> None:
        log("chaos: PostgreSQL fast restart")
        self.postgres.halt()
        self.postgres.start()


def worker_name(n: int) -> str:
    return f"worker-{n}"


def start_worker(stack: Stack, name: str, threads: int) -> None:
    stack.starts = getattr(stack, "starts", collections.Counter())
    stack.starts[name] += 1
    stack.start_worker(name, threads=threads)


def frange(start: float, stop: float, step: float) -> list[float]:
    values, value = [], start
    while value < stop:
        values.append(value)
        value += step
    return values


# -- the figures ------------------------------------------------------------------------------


def figures(stack: Stack, ids: list[str]) -> dict:
    """What happened to the jobs and the money, from the database, the ledger and the chats."""
    from peewee import fn

    from neurocards.models import ACTIVE_STATUSES, Job, LedgerEntry
    from neurocards.money.audit import audit

    jobs = list(Job.select().where(Job.id.in_(ids)))
    refunds = collections.Counter(str(e.job_id) for e in LedgerEntry.select().where(
        (LedgerEntry.kind == "refund") & LedgerEntry.job.in_(ids)))
    per_kind = (LedgerEntry.select(LedgerEntry.kind, LedgerEntry.job, fn.COUNT(LedgerEntry.id).alias("n"))
                .where(LedgerEntry.job.in_(ids)).group_by(LedgerEntry.kind, LedgerEntry.job)
                .having(fn.COUNT(LedgerEntry.id) > 1))
    twice = collections.Counter(row.kind for row in per_kind)
    videos = {str(job.id): video_count(stack, job.chat_id) for job in jobs}
    failed = [job for job in jobs if job.status == "failed"]
    report = audit()
    return {
        "jobs": len(jobs),
        "done": sum(job.status == "done" for job in jobs),
        "failed_with_refund": sum(refunds[str(job.id)] == 1 for job in failed),
        "failed_without_refund": sum(refunds[str(job.id)] == 0 for job in failed),
        "not_ended": sum(job.status in ACTIVE_STATUSES for job in jobs),
        "double_debits": twice["debit"],
        "double_refunds": twice["refund"],
        "refunds_on_delivered": sum(1 for job in jobs if refunds[str(job.id)] and videos[str(job.id)]),
        "duplicate_video_sends": sum(max(0, n - 1) for n in videos.values()),
        "failures_by_class": dict(collections.Counter(job.error_class for job in failed)),
        "audit_ok": report["ok"],
        "audit_problems": dict(collections.Counter(problem["problem"] for problem in report["problems"])),
    }


def video_count(stack: Stack, chat_id: int) -> int:
    events = stack.tg.transcript(chat_id)["events"]
    return sum(1 for event in events if event["type"] == "bot_message" and event.get("video"))


def watchdog_rescues(stack: Stack) -> dict[str, float]:
    port = stack.watchdog_ports["watchdog"]
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = {}
    for line in body.splitlines():
        if line.startswith("neurocards_watchdog_rescues_total{") and not line.endswith(" 0.0"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split("{", 1)[1].rstrip("}")] = float(value)
    return found


# -- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--generation-s", type=float, default=5.0, help="how long a KIE task takes")
    parser.add_argument("--engine", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (killed in turn)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--chaos-s", type=float, default=120.0, help="how long the stack is broken")
    parser.add_argument("--kill-every-s", type=float, default=5.0, help="a worker's life once it is ready")
    parser.add_argument("--burst-every-s", type=float, default=8.0)
    parser.add_argument("--burst-size", type=int, default=20)
    parser.add_argument("--kie-failure-rate", type=float, default=0.2)
    parser.add_argument("--timeout-s", type=float, default=900.0, help="how long to wait for every job to end")
    args = parser.parse_args()
    if not 1 <= args.jobs <= MAX_JOBS or not 0 < args.timeout_s <= MAX_TIMEOUT_S:
        parser.error(f"--jobs must be 1..{MAX_JOBS} and --timeout-s at most {MAX_TIMEOUT_S}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the stack on the way out

    redis_server = RedisServer()
    postgres = PostgresServer() if args.engine == "postgres" else None
    url = postgres.create_database() if postgres else f"sqlite:///{tempfile.mkdtemp(prefix='neurocards-chaos-')}/c.db"
    stack = Stack(redis_url=redis_server.url, database_url=url, generation_s=args.generation_s, **CHAOS_SETTINGS)
    os.environ.update(stack.env)
    from neurocards.context import Context
    from neurocards.schema import migrate
    from neurocards.settings import load_settings

    stack.context = Context(load_settings())
    migrate()
    for n in range(args.workers):
        start_worker(stack, worker_name(n), args.threads)
    stack.start_watchdog()
    chaos = Chaos(stack, redis_server, postgres, args)
    try:
        return run(stack, chaos, args)
    finally:
        chaos.stop.set()
        stack.close()
        redis_server.stop()
        if postgres is not None:
            postgres.stop()


def run(stack: Stack, chaos: Chaos, args) -> int:
    from neurocards.models import ACTIVE_STATUSES, Job

    log(f"{args.jobs} jobs, generation {args.generation_s:g} s, {args.engine}, {args.workers} workers x "
        f"{args.threads} threads; chaos for {args.chaos_s:g} s")
    started = time.monotonic()
    chaos.start()
    ids = start_jobs(stack, args.jobs, args.chaos_s / 3, chaos.stop)
    chaos.join()

    def active() -> int:
        return retry(lambda: Job.select().where(Job.id.in_(ids) & Job.status.in_(ACTIVE_STATUSES)).count(),
                     threading.Event())

    while (left := active()) and time.monotonic() - started < args.timeout_s:
        log(f"{left} jobs not ended yet")
        time.sleep(10)
    wall_s = time.monotonic() - started

    result = figures(stack, ids)
    tasks = httpx.get(f"{stack.kie.url}/_sandbox/kie/tasks", timeout=30).json()["tasks"]
    print()
    print(f"chaos bench: {args.jobs} jobs, {args.engine}, generation {args.generation_s:g} s, "
          f"chaos {args.chaos_s:g} s, wall {wall_s:.0f} s")
    print(f"  chaos done: {dict(chaos.counts)}")
    print(f"  jobs: done {result['done']}, failed with refund {result['failed_with_refund']}, "
          f"failed without refund {result['failed_without_refund']}, not ended {result['not_ended']}")
    print(f"  failures by class: {result['failures_by_class']}")
    print(f"  double debits {result['double_debits']}, double refunds {result['double_refunds']}, "
          f"refunds on delivered jobs {result['refunds_on_delivered']}")
    duplicates = result["duplicate_video_sends"]
    share = 100 * duplicates / max(1, result["done"])
    print(f"  duplicate video sends {duplicates} ({share:.1f} % of delivered jobs)")
    print(f"  KIE tasks created {len(tasks)} for {args.jobs} jobs; watchdog rescues {watchdog_rescues(stack)}")
    print(f"  audit: {'ok' if result['audit_ok'] else 'PROBLEMS'} {result['audit_problems'] or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
