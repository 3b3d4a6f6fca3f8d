"""N jobs in flight at once against the sandbox KIE, whose tasks take T seconds.

Starts a real Redis, a SQLite database, the sandbox stand-ins, one worker
process with the given threads (and, with --callbacks, the bot, whose web app
receives KIE's callbacks), puts N jobs in flight and waits until every one has
ended.  Prints figures, asserts nothing:

- worker RSS (peak, sampled) and Redis memory (peak);
- KIE API calls and calls per second, by endpoint;
- the lag from "KIE ready" (the task's completion at the stand-in) to "video in
  the chat" (the job marked done after the send), p50/p95/max;
- how many jobs ended done / failed, and the wall time;
- KIE poll calls per job and 429s (creates refused by KIE's own window);
- the worker's CPU seconds per job.

    python bench/inflight.py --jobs 1000 --generation-s 60
    python bench/inflight.py --jobs 1000 --generation-s 60 --callbacks
    python bench/inflight.py --jobs 1000 --generation-s 60 --callbacks --status-messages
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import redis  # noqa: E402

from bench.support import TreeSampler, prepare_jobs, send_jobs  # noqa: E402
from tests.services import RedisServer  # noqa: E402
from tests.stack import Stack  # noqa: E402

#: Production-like polling (settings.toml defaults), not the tests' shrunk ones.
REAL_POLLING = {"KIE__POLL_FIRST_S": "15", "KIE__POLL_MAX_S": "30", "KIE__DEADLINE_S": "900",
                "PIPELINE__MAX_RETRIES": "5", "TELEGRAM__STATUS_EDIT_INTERVAL_S": "3"}


def rss_kb(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total


class Sampler(threading.Thread):
    """Samples worker RSS and Redis memory every second."""

    def __init__(self, worker_pid: int, redis_url: str) -> None:
        super().__init__(daemon=True)
        self.worker_pid = worker_pid
        self.redis = redis.Redis.from_url(redis_url)
        self.rss_peak_kb = 0
        self.redis_peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.rss_peak_kb = max(self.rss_peak_kb, rss_kb(self.worker_pid))
            self.redis_peak = max(self.redis_peak, int(self.redis.info("memory")["used_memory"]))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--generation-s", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--callbacks", action="store_true", help="KIE posts callbacks to the bot's web app")
    parser.add_argument("--status-messages", action="store_true",
                        help="each job has a status message, as the bot's do, edited as it moves")
    parser.add_argument("--timeout-s", type=float, default=3600.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the stack on the way out

    redis_server = RedisServer()
    folder = Path(tempfile.mkdtemp(prefix="neurocards-bench-"))
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{folder / 'bench.db'}",
                  generation_s=args.generation_s, **REAL_POLLING)
    if args.callbacks:
        stack.env["NEUROCARDS_KIE__CALLBACK_BASE_URL"] = f"http://127.0.0.1:{stack.env['NEUROCARDS_TELEGRAM__WEB_PORT']}"
    os.environ.update(stack.env)
    from neurocards.context import Context
    from neurocards.schema import migrate
    from neurocards.settings import load_settings

    context = Context(load_settings())
    migrate()

    worker = stack.start_worker(threads=args.threads)
    if args.callbacks:
        stack.start_bot()
    sampler = Sampler(worker.pid, redis_server.url)
    sampler.start()
    cpu = TreeSampler(worker.pid)
    cpu.start()
    try:
        return run(stack, context, args, sampler, cpu)
    finally:
        sampler.stopped.set()
        cpu.stop()
        stack.close()
        redis_server.stop()


def run(stack: Stack, context, args, sampler: Sampler, cpu: TreeSampler) -> int:
    from neurocards.models import ACTIVE_STATUSES, Job

    started = time.monotonic()
    ids = prepare_jobs(stack, context, args.jobs, status_messages=args.status_messages)
    send_jobs(context, ids)
    print(f"{len(ids)} jobs started in {time.monotonic() - started:.1f} s", flush=True)
    while Job.select().where(Job.status.in_(ACTIVE_STATUSES)).exists():
        if time.monotonic() - started > args.timeout_s:
            print("timed out waiting for the jobs to end")
            break
        time.sleep(2)
    wall_s = time.monotonic() - started

    tasks = {t["task_id"]: t for t in httpx.get(f"{stack.kie.url}/_sandbox/kie/tasks").json()["tasks"]}
    jobs = list(Job.select().where(Job.id.in_(ids)))
    done = [job for job in jobs if job.status == "done"]
    lags = []
    for job in done:
        task = tasks.get(job.kie_task_id)
        if task and task["done_ms"]:
            delivered_s = job.done_at.replace(tzinfo=dt.UTC).timestamp()
            lags.append(delivered_s - task["done_ms"] / 1000)
    calls = stack.calls("kie")
    api_calls = {name: n for name, n in calls.items() if "/api/" in name}

    print(f"jobs: {args.jobs}, generation {args.generation_s:g} s, 1 worker process x {args.threads} threads, "
          f"callbacks {'on' if args.callbacks else 'off'}, status messages {'on' if args.status_messages else 'off'}")
    print(f"ended: done {len(done)}, failed {len(jobs) - len(done)}; wall time {wall_s:.0f} s")
    print(f"worker RSS peak: {sampler.rss_peak_kb / 1024:.0f} MiB; Redis used_memory peak: "
          f"{sampler.redis_peak / 1024 / 1024:.1f} MiB")
    worker_cpu_s = cpu.cpu_s()
    total_calls = sum(api_calls.values())
    print(f"KIE API calls: {total_calls} ({total_calls / wall_s:.2f}/s average)")
    for name, n in sorted(api_calls.items()):
        print(f"  {name}: {n}")
    polls = sum(n for name, n in api_calls.items() if "record" in name.lower())
    creates = sum(n for name, n in api_calls.items() if "generate" in name or "createTask" in name)
    print(f"KIE creates refused with 429: {creates - len(tasks)}")
    print(f"KIE polls per job: {polls / max(1, len(jobs)):.2f}; KIE tasks created {len(tasks)} for {len(jobs)} jobs; "
          f"worker CPU {worker_cpu_s:.0f} s ({worker_cpu_s / max(1, len(jobs)):.2f} CPU-s per job)")
    if lags:
        print(f"lag KIE ready -> video in chat: p50 {statistics.median(lags):.1f} s, "
              f"p95 {percentile(lags, 95):.1f} s, max {max(lags):.1f} s")
    failures = {}
    for job in jobs:
        if job.status == "failed":
            failures[job.error_class] = failures.get(job.error_class, 0) + 1
    if failures:
        print(f"failures by class: {failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
