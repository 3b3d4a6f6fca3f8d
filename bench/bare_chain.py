"""A bare Dramatiq chain for bench/pipeline.py to compare with: one no-op actor
that sends itself ``hops`` times per job on the same Redis, then counts the job
done.  Run as a worker: ``dramatiq bench.bare_chain`` with ``BENCH_REDIS_URL``."""

from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

#: The queue and the counter of finished chains.
QUEUE = "bare"
DONE_KEY = "bench:bare-chain:done"

#: The pipeline's worker looks for work at least this often when idle
#: (``neurocards.middleware.prompt_delays.IDLE_POLL_MS``); this one too, so that
#: neither waits out Dramatiq's default idle sleep (up to 1 s) when the jobs come.
IDLE_POLL_MS = 100


class SameIdlePoll(dramatiq.Middleware):
    def before_worker_boot(self, broker, worker):
        worker.worker_timeout = min(worker.worker_timeout, IDLE_POLL_MS)


broker = RedisBroker(url=os.environ["BENCH_REDIS_URL"])
broker.add_middleware(SameIdlePoll())
dramatiq.set_broker(broker)
_counter = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def hop(job: str, hops_left: int) -> None:
    if hops_left > 1:
        hop.send(job, hops_left - 1)
    else:
        _counter.incr(DONE_KEY)
