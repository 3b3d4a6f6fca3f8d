"""One seller with 50 jobs and 50 sellers with one job each start together,
against KIE's create limit (20 creates per 10 s, one key): how long each waits
for its KIE create, with the fair order (``kie.fair_share``, the default) and
without it (every waiting job's message competes for the slot as it comes back).

For each mode it starts a real Redis, a SQLite database, the sandbox stand-ins
and one worker process, starts the big seller's jobs then the others' (all in
one go, each the way the bot starts a job: photo stored, debit, first message),
and waits until KIE has created every task.  Prints, per mode, the time from
the start to each job's create: p50 / p95 / max for the single-job sellers and
for the big seller's jobs, and the creates' span.  Asserts nothing.

    python bench/fair_share.py                  # both modes, 50 + 50
    python bench/fair_share.py --big 50 --sellers 50 --modes fair fifo
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import PRODUCT_JPG, percentile  # noqa: E402
from tests.services import RedisServer, wait_until  # noqa: E402
from tests.stack import Stack  # noqa: E402

#: No downloads or deliveries while the creates are measured: KIE films for an hour, polls are rare.
QUIET = {"KIE__POLL_FIRST_S": "120", "KIE__POLL_MAX_S": "120", "KIE__DEADLINE_S": "3600"}
BIG_SELLER, FIRST_SMALL = 700_000_000, 700_000_001


def run(mode: str, big: int, sellers: int, threads: int) -> dict:
    redis_server = RedisServer()
    folder = Path(tempfile.mkdtemp(prefix="neurocards-bench-"))
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{folder / 'bench.db'}", generation_s=3600,
                  KIE__FAIR_SHARE="true" if mode == "fair" else "false", **QUIET)
    os.environ.update(stack.env)
    from neurocards.context import Context
    from neurocards.schema import migrate
    from neurocards.settings import load_settings

    context = Context(load_settings())
    migrate()
    stack.start_worker(threads=threads)
    try:
        owners = [BIG_SELLER] * big + [FIRST_SMALL + n for n in range(sellers)]
        ids, started = start(stack, context, owners)
        from neurocards.models import Job

        def created() -> bool:
            return Job.select().where(Job.id.in_(ids) & (Job.kie_task_id == "")).count() == 0

        wait_until(created, timeout=120 + 10 * len(ids), interval=0.5, what="every create")
        jobs = list(Job.select(Job.user, Job.kie_submitted_at).where(Job.id.in_(ids)))
    finally:
        stack.close()
        context.close()
        redis_server.stop()
    waits = [(job.user_id, job.kie_submitted_at.replace(tzinfo=dt.UTC).timestamp() - started) for job in jobs]
    return {"small": [s for user, s in waits if user != BIG_SELLER], "big": [s for user, s in waits
                                                                            if user == BIG_SELLER],
            "span": max(s for _, s in waits) - min(s for _, s in waits)}


def start(stack, context, owners: list[int]) -> tuple[list[uuid.UUID], float]:
    """Register the sellers and store the photos first, then start every job at
    once: debit and first message, the big seller's first."""
    from neurocards import jobs
    from neurocards.dispatch import ActorName
    from neurocards.models import utcnow
    from neurocards.users import register

    photo = PRODUCT_JPG.read_bytes()
    for user in dict.fromkeys(owners):
        register(user, "en", welcome_credits=len(owners))
    prepared = []
    for n, user in enumerate(owners):
        job_id = uuid.uuid4()
        prepared.append((user, job_id, context.storage.save_photo(job_id, photo), n))
    started = utcnow().replace(tzinfo=dt.UTC).timestamp()
    ids = []
    for user, job_id, path, n in prepared:
        job, _ = jobs.start_job(user_id=user, chat_id=user, product_info=f"Product {n}", language="en", price=1,
                                max_in_flight=len(owners), photo_path=str(path), job_id=job_id)
        context.send(ActorName.ENHANCE_PROMPT, str(job.id))
        ids.append(job.id)
    return ids, started


def describe(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.1f} s, p95 {percentile(values, 95):.1f} s, "
            f"max {max(values):.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", type=int, default=50, help="jobs of the one big seller")
    parser.add_argument("--sellers", type=int, default=50, help="sellers with one job each")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--modes", nargs="+", choices=["fair", "fifo"], default=["fifo", "fair"])
    args = parser.parse_args()
    results = {}
    for mode in args.modes:
        began = time.monotonic()
        results[mode] = found = run(mode, args.big, args.sellers, args.threads)
        print(f"{mode}: {args.big} jobs of one seller + {args.sellers} sellers x 1 job, KIE 20 creates / 10 s; "
              f"creates span {found['span']:.1f} s (run {time.monotonic() - began:.0f} s)", flush=True)
        print(f"  time to KIE create, single-job sellers: {describe(found['small'])}")
        print(f"  time to KIE create, the big seller's jobs: {describe(found['big'])}", flush=True)
    if "fair" in results and "fifo" in results:
        fair, fifo = (percentile(results[mode]["small"], 95) for mode in ("fair", "fifo"))
        print(f"single-job sellers' p95: fair {fair:.1f} s vs fifo {fifo:.1f} s (x{fifo / fair:.2f} sooner)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
