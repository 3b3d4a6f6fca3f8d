"""The orchestration's own cost: the full pipeline with every outside service at
zero latency and every limit lifted, against a bare Dramatiq chain of the same
length on the same Redis, in one run.

Starts a real Redis, a SQLite database and the stand-ins (KIE finishing each
task at once with a 1 MB video and no create limit; Telegram without flood
limits; OpenAI answering at once), with our budgets lifted by settings
(``kie.create_limit = 0``, ``kie.poll_per_s = 0``, ``telegram.messages_per_s =
0``, no status-edit interval).  Then:

1. the pipeline: ``--jobs`` jobs started at once on one worker process with
   ``--threads`` threads, until every one is done (photo -> prompt -> upload ->
   create -> poll -> download 1 MB -> send 1 MB, status edits on the way);
   the worker's messages per job are counted from its Prometheus endpoint;
2. the bare chain (``bench/bare_chain.py``): the same number of jobs, each that
   many no-op messages long, on a worker of the same shape;
3. the outside calls alone (``bench/client_floor.py``): the pipeline's jobs
   again, each making the same calls through the same clients (openai, httpx,
   aiogram) to the same stand-ins, with no Dramatiq, database, Redis or
   budgets, in a process of the same shape: the floor no orchestration can go
   below.

Both clocks run from the first message sent to the last job done, on a worker
that has already run one job (a warm-up), and both workers' CPU is counted over
that span alone.  What the bot does before a job reaches the pipeline (the
seller registered, the photo stored, the job created with its debit, the
status message sent — the message the workers' status edits then edit) is
done for every job before the pipeline's clock starts.  Both workers look for
work at least every 100 ms when idle (the pipeline's ``PromptDelays``).

Prints jobs/s of each, the ratio (the goal: the pipeline at >= 50 % of the
bare chain), each worker's CPU seconds per job, and the clients' floor: the
ratio the outside calls alone reach, and what the orchestration adds to them.

    python bench/pipeline.py --jobs 200 --threads 8
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402

from bench.support import ROOT, TreeSampler, prepare_jobs, send_jobs  # noqa: E402
from neurocards.sandbox import kie, telegram  # noqa: E402
from neurocards.sandbox.kie_state import KIE, SAMPLE_MP4  # noqa: E402
from neurocards.sandbox.server import ThreadedApp  # noqa: E402
from neurocards.sandbox.telegram_client import TelegramSandbox  # noqa: E402
from neurocards.settings import SANDBOX_API_KEY, SANDBOX_BOT_TOKEN  # noqa: E402
from tests.services import RedisServer, wait_until  # noqa: E402
from tests.stack import Stack  # noqa: E402

LIFTED = {
    "KIE__CREATE_LIMIT": "0", "KIE__POLL_PER_S": "0", "TELEGRAM__MESSAGES_PER_S": "0",
    "TELEGRAM__CHAT_MESSAGES_PER_S": "1000000", "TELEGRAM__STATUS_EDIT_INTERVAL_S": "0",
    "KIE__POLL_FIRST_S": "0.001", "KIE__POLL_MAX_S": "0.001", "KIE__DEADLINE_S": "900",
}
VIDEO_BYTES = 1024 * 1024
#: The seller of the warm-up job (the timed jobs' sellers start at 500,000,000).
WARM_UP_USER = 499_999_999


def one_mb_mp4() -> bytes:
    """The sample clip padded to 1 MB with an ISO ``free`` box: still a valid mp4."""
    clip = SAMPLE_MP4.read_bytes()
    pad = VIDEO_BYTES - len(clip)
    return clip + struct.pack(">I", pad) + b"free" + bytes(pad - 8)


def messages_processed(metrics_url: str) -> float:
    text = httpx.get(metrics_url, timeout=10).text
    return sum(float(value) for value in re.findall(r"^dramatiq_messages_total\{[^}]*\} ([0-9.e+]+)$", text, re.M))


def actor_ms(metrics_url: str) -> dict[str, tuple[float, float]]:
    """Per actor: (messages, total milliseconds), from Dramatiq's duration histogram."""
    text = httpx.get(metrics_url, timeout=10).text
    found: dict[str, list[float]] = {}
    for kind, actor, value in re.findall(
            r'^dramatiq_message_duration_milliseconds_(sum|count)\{[^}]*actor_name="([^"]+)"[^}]*\} ([0-9.e+]+)$',
            text, re.M):
        found.setdefault(actor, [0.0, 0.0])[0 if kind == "count" else 1] += float(value)
    return {actor: (count, total) for actor, (count, total) in found.items()}


def run_pipeline(stack: Stack, context, jobs: int, threads: int) -> dict:
    from neurocards.jobs import stage_durations
    from neurocards.models import Job

    worker = stack.start_worker(threads=threads)
    metrics_url = f"http://127.0.0.1:{stack.env['NEUROCARDS_METRICS__WORKER_PORT']}/metrics"
    wait_until(lambda: _up(metrics_url), timeout=60, what="the worker")

    def all_done(ids: list[str]) -> bool:
        return Job.select().where(Job.id.in_(ids) & (Job.status == "done")).count() == len(ids)

    # Warm-up, as the bare chain has its own: one job end to end, so the clock
    # does not count the worker's first-use set-up (clients, connections).
    warm_up = prepare_jobs(stack, context, 1, first_user=WARM_UP_USER, status_messages=True)
    send_jobs(context, warm_up)
    wait_until(lambda: all_done(warm_up), timeout=120, interval=0.05, what="the warm-up job")
    # What the bot does before a job reaches the pipeline (register, store the
    # photo, debit, status message) is done for every job before the clock
    # starts: the bare chain's clock, too, starts at its first message.
    prepared_at = time.monotonic()
    ids = prepare_jobs(stack, context, jobs, status_messages=True)
    prepared_s = time.monotonic() - prepared_at
    time.sleep(1.0)  # the warm-up's last status edits
    sampler = TreeSampler(worker.pid)
    own = psutil.Process()
    own_before = sum(own.cpu_times()[:2])
    cpu_before, messages_before = sampler.cpu_s(), messages_processed(metrics_url)
    actors_before = actor_ms(metrics_url)
    print(f"{jobs} jobs prepared in {prepared_s:.1f} s; the pipeline's clock starts", file=sys.stderr, flush=True)
    started = time.monotonic()
    send_jobs(context, ids)
    wait_until(lambda: all_done(ids), timeout=120 + jobs, interval=0.05, what="every job to be done")
    elapsed = time.monotonic() - started
    cpu = sampler.cpu_s() - cpu_before  # the worker's CPU over the timed run alone
    stand_ins_cpu = sum(own.cpu_times()[:2]) - own_before
    time.sleep(1.5)  # the last status edits
    messages = messages_processed(metrics_url) - messages_before

    stages: dict[str, list[float]] = {}
    for job in Job.select().where(Job.id.in_(ids)):
        for stage, seconds in stage_durations(job).items():
            stages.setdefault(stage, []).append(seconds)
    per_actor = {}  # over the timed run alone (the warm-up's messages taken off)
    for actor, (count, total) in actor_ms(metrics_url).items():
        count_before, total_before = actors_before.get(actor, (0.0, 0.0))
        per_actor[actor] = (count - count_before, total - total_before)
    result = {"ids": [*warm_up, *ids], "actors": per_actor, "elapsed": elapsed, "cpu": cpu, "stand_ins_cpu": stand_ins_cpu,
              "messages": messages, "prepared_s": prepared_s,
              "stages": {stage: sum(values) / len(values) for stage, values in stages.items()}}
    stack.stop("worker")
    return result


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def run_bare_chain(redis_url: str, jobs: int, hops: int, threads: int) -> dict:
    client = redis.Redis.from_url(redis_url)
    env = {**os.environ, "BENCH_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "dramatiq", "bench.bare_chain", "--processes", "1", "--threads", str(threads)]
    worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    sys.path.insert(0, str(ROOT))
    os.environ["BENCH_REDIS_URL"] = redis_url
    from bench import bare_chain

    try:
        bare_chain.hop.send("warm-up", 1)
        wait_until(lambda: client.get(bare_chain.DONE_KEY), timeout=60, what="the bare worker")
        client.delete(bare_chain.DONE_KEY)
        sampler = TreeSampler(worker.pid)
        cpu_before, started = sampler.cpu_s(), time.monotonic()
        for job in range(jobs):
            bare_chain.hop.send(str(job), hops)
        wait_until(lambda: int(client.get(bare_chain.DONE_KEY) or 0) >= jobs, timeout=120 + jobs, interval=0.05,
                   what="every bare chain")
        return {"elapsed": time.monotonic() - started, "cpu": sampler.cpu_s() - cpu_before}
    finally:
        worker.terminate()
        worker.wait(30)
        client.close()


def run_client_floor(stack: Stack, ids: list[str], threads: int, edits: int) -> dict:
    """``bench/client_floor.py`` over the pipeline's own jobs (their photos and
    status messages; the first is its warm-up): the outside calls alone."""
    from neurocards.models import Job

    rows = {str(job.id): job for job in Job.select().where(Job.id.in_(ids))}
    jobs = [{"id": job_id, "photo_path": rows[job_id].photo_path, "chat_id": rows[job_id].chat_id,
             "status_message_id": rows[job_id].status_message_id, "product_info": rows[job_id].product_info}
            for job_id in ids]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as jobs_file:
        json.dump(jobs, jobs_file)
        jobs_file.flush()
        argv = [sys.executable, "-m", "bench.client_floor", "--jobs-file", jobs_file.name, "--threads", str(threads),
                "--edits", str(edits)]
        done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **stack.env, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"bench/client_floor.py failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    video = one_mb_mp4()

    def kie_app():
        app = kie.create_app(api_keys=(SANDBOX_API_KEY,), generation_s=0, rate_limit=False)
        app[KIE].sample = video
        return app

    redis_server = RedisServer()
    folder = Path(tempfile.mkdtemp(prefix="neurocards-bench-"))
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{folder / 'bench.db'}", **LIFTED)
    stack.kie.stop()
    stack.telegram.stop()
    stack.kie = ThreadedApp(kie_app)
    stack.telegram = ThreadedApp(lambda: telegram.create_app(tokens=(SANDBOX_BOT_TOKEN,), flood=False))
    stack.tg = TelegramSandbox(stack.telegram.url)
    stack.env["NEUROCARDS_SANDBOX__KIE_PORT"] = str(stack.kie.port)
    stack.env["NEUROCARDS_SANDBOX__TELEGRAM_PORT"] = str(stack.telegram.port)
    os.environ.update(stack.env)
    from neurocards.context import Context
    from neurocards.schema import migrate
    from neurocards.settings import load_settings

    context = Context(load_settings())
    migrate()
    try:
        pipeline = run_pipeline(stack, context, args.jobs, args.threads)
        hops = max(1, round(pipeline["messages"] / args.jobs))
        bare = run_bare_chain(redis_server.url, args.jobs, hops, args.threads)
        edits = round(pipeline["actors"].get("show_status", (0, 0))[0] / args.jobs)
        floor = run_client_floor(stack, pipeline["ids"], args.threads, edits)
    finally:
        stack.close()
        context.close()
        redis_server.stop()
    pipeline_rate, bare_rate = args.jobs / pipeline["elapsed"], args.jobs / bare["elapsed"]
    print(f"{args.jobs} jobs, 1 worker process x {args.threads} threads, 1 MB videos, limits lifted")
    print(f"pipeline: {pipeline_rate:.1f} jobs/s ({pipeline['elapsed']:.1f} s; {pipeline['messages'] / args.jobs:.1f} "
          f"messages per job); worker CPU {pipeline['cpu'] / args.jobs * 1000:.0f} ms per job")
    print(f"  the stand-ins (this process) used {pipeline['stand_ins_cpu']:.1f} CPU-s; preparing the jobs "
          f"(the bot's part, before the clock) took {pipeline['prepared_s']:.1f} s")
    print("  mean time in each state: " + ", ".join(f"{stage} {seconds * 1000:.0f} ms"
                                                    for stage, seconds in pipeline["stages"].items()))
    print("  time per message by actor: " + ", ".join(
        f"{actor} {total / count:.0f} ms x{count / args.jobs:.1f}" for actor, (count, total) in
        sorted(pipeline["actors"].items(), key=lambda item: -item[1][1]) if count))
    print(f"bare Dramatiq chain of {hops} messages: {bare_rate:.1f} jobs/s ({bare['elapsed']:.1f} s); worker CPU "
          f"{bare['cpu'] / args.jobs * 1000:.0f} ms per job")
    print(f"pipeline / bare chain: {pipeline_rate / bare_rate:.0%}")
    floor_rate = floor["jobs"] / floor["elapsed_s"]
    floor_ms = floor["cpu_s"] / floor["jobs"] * 1000
    print(f"the outside calls alone (the same clients and stand-ins; no Dramatiq, database, Redis or budgets; "
          f"{edits} edits): {floor_rate:.1f} jobs/s, {floor_ms:.0f} ms CPU per job")
    print(f"  the clients' floor / bare chain: {floor_rate / bare_rate:.0%} (no orchestration could take the "
          f"pipeline above this); pipeline / the clients' floor: {pipeline_rate / floor_rate:.0%}; orchestration's "
          f"own CPU: ~{pipeline['cpu'] / args.jobs * 1000 - floor_ms:.0f} ms per job")
    return 0


if __name__ == "__main__":
    sys.exit(main())
