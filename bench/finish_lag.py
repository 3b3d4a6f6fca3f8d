"""bench/finish.py's second half: how late the I/O queue's messages run while a
host finishes videos (issue 20's "no rise in the I/O queues' lag").

The stack is the product's own: a real Redis and SQLite, the sandbox's
stand-ins, an I/O worker on the ``pipeline`` queue (``bench.queue_probe``:
every pipeline actor plus the probe) and a media worker on the ``media``
queue, each ``dramatiq`` as ``neurocards worker`` runs it.  The jobs are made
the way the bot makes them (seller, photo, debit, status message), then handed
the bench's 8 s clip as if KIE had just delivered it — the one step set by
hand, so nothing but finishing and its sends run beside the probes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import dramatiq
import httpx
import redis

from bench.support import percentile, prepare_jobs
from tests.services import RedisServer, free_port, wait_until
from tests.stack import Stack

#: Probes a second, of each kind.
PROBES_PER_S = 10
#: A poll's shape: sent to run this much later.
POLL_DELAY_S = 1.0
IO_THREADS = 8


def measure(clip: Path, *, jobs: int, x264_preset: str, nice: int, idle_s: float) -> None:
    redis_server = RedisServer()
    folder = Path(tempfile.mkdtemp(prefix="neurocards-bench-lag-"))
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{folder / 'bench.db'}",
                  FORMATS__X264_PRESET=x264_preset, FORMATS__NICE=str(nice))
    os.environ.update(stack.env)
    from neurocards.context import Context
    from neurocards.dispatch import ActorName
    from neurocards.schema import migrate
    from neurocards.settings import load_settings

    settings = load_settings()
    context = Context(settings)
    migrate()
    client = redis.Redis.from_url(redis_server.url)
    try:
        stack.start_worker("io", module="bench.queue_probe", threads=IO_THREADS, queues=("pipeline",))
        media_port = free_port()
        stack.start_media_worker(media_port)  # `neurocards worker --media`, as the Procfile runs it
        _probe_until(context, "warm", lambda: client.llen("bench:lag:warm-now") > 0, timeout_s=60)
        ids = _jobs_with_clips(stack, context, clip, jobs)
        idle = _probe_for(context, client, "idle", idle_s)
        started = time.monotonic()
        for job_id in ids:
            context.send(ActorName.FINISH_VIDEO, job_id)
        busy, finished_s = _probe_while_finishing(context, client, ids, started)
        media_cpu_s = _finish_cpu_s(media_port)
        delivered = _delivered(ids)
        print(f"\nI/O queue beside {jobs} finishes ({x264_preset}, nice {nice}; media worker "
              f"{settings.worker.media_threads} threads, I/O worker {IO_THREADS} threads; "
              f"{PROBES_PER_S} probes/s of each kind)")
        print(f"{'lateness s':<28} {'p50':>6} {'p95':>6} {'max':>6} {'probes':>7}")
        for label, lags in (("idle, sent to run now", idle[0]), ("idle, sent 1 s ahead", idle[1]),
                            ("finishing, sent to run now", busy[0]), ("finishing, sent 1 s ahead", busy[1])):
            print(f"{label:<28} {statistics.median(lags):6.3f} {percentile(lags, 95):6.3f} {max(lags):6.3f} "
                  f"{len(lags):7d}")
        print(f"{jobs} finished in {finished_s:.1f} s: {jobs / finished_s * 60:.1f} finishes per minute, "
              f"{media_cpu_s / jobs:.2f} FFmpeg CPU s each; {delivered} of {jobs} in the chat")
    finally:
        context.close()
        stack.close()
        redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _jobs_with_clips(stack, context, clip: Path, count: int) -> list[str]:
    """Jobs made as the bot makes them, then at the finishing stage with ``clip`` as KIE's."""
    from neurocards.models import Job, JobStatus

    ids = prepare_jobs(stack, context, count, status_messages=True)
    for job_id in ids:
        stored = context.storage.video_path(job_id)
        shutil.copyfile(clip, stored)
        Job.update(status=JobStatus.FINISHING, video_path=str(stored), video_bytes=stored.stat().st_size,
                   aspect_ratio="3:4", preset="wildberries", result_url="http://127.0.0.1:9/unused.mp4",
                   prompt="A product video").where(Job.id == job_id).execute()
    return ids


def _send_probes(context, kind: str) -> None:
    now = time.time()
    for suffix, delay_s in (("now", 0.0), ("delayed", POLL_DELAY_S)):
        message = dramatiq.Message(queue_name="pipeline", actor_name="queue_probe",
                                   args=(f"{kind}-{suffix}", now + delay_s), kwargs={}, options={})
        context.broker.enqueue(message, delay=int(delay_s * 1000) or None)


def _probe_until(context, kind: str, done, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {kind} probe came back in {timeout_s:.0f} s")
        _send_probes(context, kind)
        time.sleep(1 / PROBES_PER_S)


def _probe_for(context, client, kind: str, seconds: float) -> tuple[list[float], list[float]]:
    ends = time.monotonic() + seconds
    _probe_until(context, kind, lambda: time.monotonic() > ends, timeout_s=seconds + 1)
    return _lags(client, kind)


def _probe_while_finishing(context, client, ids, started: float) -> tuple[tuple[list[float], list[float]], float]:
    from neurocards.models import Job, JobStatus

    def finishing() -> int:
        return Job.select().where(Job.id.in_(ids), Job.status == JobStatus.FINISHING).count()

    _probe_until(context, "busy", lambda: finishing() == 0, timeout_s=900)
    finished_s = time.monotonic() - started
    time.sleep(POLL_DELAY_S + 1)  # the last delayed probes come due
    return _lags(client, "busy"), finished_s


def _lags(client, kind: str) -> tuple[list[float], list[float]]:
    return tuple([float(v) for v in client.lrange(f"bench:lag:{kind}-{suffix}", 0, -1)]
                 for suffix in ("now", "delayed"))


def _delivered(ids, timeout_s: float = 60.0) -> int:
    from neurocards.models import ACTIVE_STATUSES, Job

    with contextlib.suppress(TimeoutError):  # what is still on its way counts as not delivered
        wait_until(lambda: not Job.select().where(Job.id.in_(ids), Job.status.in_(ACTIVE_STATUSES)).exists(),
                   timeout=timeout_s, interval=0.5)
    return Job.select().where(Job.id.in_(ids), Job.status == "done").count()


def _finish_cpu_s(port: int) -> float:
    """FFmpeg's CPU seconds in all, as the media worker counted them (its own
    ``neurocards_finish_cpu_seconds``, from FFmpeg's ``-benchmark``)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("neurocards_finish_cpu_seconds_sum"))
