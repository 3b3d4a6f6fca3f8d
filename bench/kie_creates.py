"""A crowd of sellers starting at once against KIE's create limit, with one key
and with a key pool.

For each pool size K it starts a real Redis, a SQLite database, the sandbox
stand-ins (KIE keeps KIE's own sliding window: 20 creates per 10 s per key,
answering 429 above it) and one worker process, puts ``jobs-per-key x K`` jobs
in flight at once and waits until KIE has created them all.  Prints, per run:

- KIE 429s (answers to creates), and the most creates any key had in a 10 s window;
- the creates' span (first to last) and the sustained create rate after the
  first window's burst (``(N - 20 K) / span``; KIE allows 2/s per key);
- utilisation of the limit: for each create after a key's first 20, how soon
  it came after the slot freed (KIE allows create i at create i-20 + 10 s):
  ``10 s / mean(t[i] - t[i-20])``;
- with several K, each run's sustained rate over the one-key run's.

    python bench/kie_creates.py --jobs-per-key 60 --keys 1 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402

from bench.support import start_jobs  # noqa: E402
from neurocards.sandbox import kie  # noqa: E402
from neurocards.sandbox.kie_api import bearer  # noqa: E402
from neurocards.sandbox.server import ThreadedApp  # noqa: E402
from tests.services import RedisServer, wait_until  # noqa: E402
from tests.stack import Stack  # noqa: E402

WINDOW_S, LIMIT = 10.0, 20
#: No downloads, deliveries or polls while the creates are measured.
QUIET = {"KIE__POLL_FIRST_S": "120", "KIE__POLL_MAX_S": "120", "KIE__DEADLINE_S": "900"}


class CreateLog:
    """When each create was answered, with which key and status."""

    def __init__(self) -> None:
        self.creates: list[tuple[float, str, int]] = []

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        response = await handler(request)
        if request.path in ("/api/v1/veo/generate", "/api/v1/jobs/createTask"):
            self.creates.append((time.time(), bearer(request), response.status))
        return response


def run_pool(keys: int, jobs_per_key: int, threads: int) -> dict:
    names = tuple(f"bench-key-{n}" for n in range(keys))
    log = CreateLog()

    def kie_app() -> web.Application:
        app = kie.create_app(api_keys=names, generation_s=3600)
        app.middlewares.append(log.middleware)
        return app

    redis_server = RedisServer()
    folder = Path(tempfile.mkdtemp(prefix="neurocards-bench-"))
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{folder / 'bench.db'}",
                  KIE__API_KEYS=json.dumps(list(names)), **QUIET)
    stack.kie.stop()
    stack.kie = ThreadedApp(kie_app)
    stack.env["NEUROCARDS_SANDBOX__KIE_PORT"] = str(stack.kie.port)
    os.environ.update(stack.env)
    from neurocards.context import Context
    from neurocards.schema import migrate
    from neurocards.settings import load_settings

    context = Context(load_settings())
    migrate()
    stack.start_worker(threads=threads)
    total = keys * jobs_per_key
    try:
        start_jobs(stack, context, total, first_user=600_000_000 + keys * 10_000)
        ok = lambda: sum(status == 200 for _, _, status in log.creates) >= total  # noqa: E731
        wait_until(ok, timeout=60 + 15 * total / keys / LIMIT * WINDOW_S, interval=0.2, what="every create")
    finally:
        stack.close()
        context.close()
        redis_server.stop()
    return figures(log.creates, keys, total)


def figures(creates: list[tuple[float, str, int]], keys: int, total: int) -> dict:
    created = sorted((t, key) for t, key, status in creates if status == 200)
    per_key = defaultdict(list)
    for t, key in created:
        per_key[key].append(t)
    gaps = [ts[i] - ts[i - LIMIT] for ts in per_key.values() for i in range(LIMIT, len(ts))]
    busiest = max(max(sum(1 for u in ts if t <= u < t + WINDOW_S) for t in ts) for ts in per_key.values())
    span = created[-1][0] - created[0][0]
    return {
        "keys": keys, "creates": len(created), "refused_429": sum(status == 429 for _, _, status in creates),
        "busiest_window": busiest, "span_s": span, "rate": (total - LIMIT * keys) / span if span else 0.0,
        "utilisation": WINDOW_S / statistics.mean(gaps) if gaps else 0.0,
        "per_key": {key: len(ts) for key, ts in sorted(per_key.items())},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs-per-key", type=int, default=60)
    parser.add_argument("--keys", type=int, nargs="+", default=[1])
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    runs = [run_pool(keys, args.jobs_per_key, args.threads) for keys in args.keys]
    for run in runs:
        print(f"{run['keys']} key(s), {run['creates']} creates: KIE 429s {run['refused_429']}; busiest 10 s window "
              f"{run['busiest_window']} creates per key; span {run['span_s']:.1f} s; sustained "
              f"{run['rate']:.2f} creates/s ({2 * run['keys']:.0f}/s allowed); utilisation of the limit "
              f"{run['utilisation']:.1%}; per key {list(run['per_key'].values())}")
    base = runs[0]
    for run in runs[1:]:
        print(f"{run['keys']} keys vs {base['keys']}: sustained create rate x{run['rate'] / base['rate']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
