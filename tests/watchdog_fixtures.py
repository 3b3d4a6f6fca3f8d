"""A stack with the watchdog running, for the tests of lost messages, restarts and stops.

The watchdog's limits are shrunk like every other duration in tests, and kept in
the order production needs: each state's limit above its normal gaps (polls
every ``kie.poll_max_s`` = 0.5 s) and above its actor's time limit (a claim
older than that has no live holder).
"""

from __future__ import annotations

import contextlib
import uuid

import httpx
import pytest

from neurocards import jobs
from neurocards.context import Context
from neurocards.schema import migrate
from neurocards.settings import load_settings
from tests.pipeline_fixtures import PRODUCT_JPG, Seller
from tests.services import PostgresServer, RedisServer, wait_until
from tests.stack import Stack

#: The watchdog's settings in tests (seconds).
FAST_WATCHDOG = {
    "WATCHDOG__PERIOD_S": "0.3",
    "WATCHDOG__LEASE_S": "3",
    "WATCHDOG__CREATED_S": "2",
    "WATCHDOG__ENHANCING_S": "6",
    "WATCHDOG__GENERATING_S": "3",
    "WATCHDOG__DOWNLOADING_S": "6",
    "WATCHDOG__DELIVERING_S": "6",
    "WATCHDOG__UNNOTIFIED_S": "2",
    "WATCHDOG__DEADLINE_S": "120",
    # below the limits above, so that a claim as old as a limit has no live holder
    "PIPELINE__SUBMIT_TIME_LIMIT_S": "2.5",
    "PIPELINE__DELIVER_TIME_LIMIT_S": "5",
    "PIPELINE__DOWNLOAD_TIME_LIMIT_S": "5",
    "PIPELINE__NOTIFY_TIME_LIMIT_S": "1.5",
}


def database_url_for(engine: str, postgres_server, tmp_path_factory) -> str:
    if engine == "postgres":
        return postgres_server.create_database()
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'neurocards.db'}"


@contextlib.contextmanager
def running_stack(redis_server, database_url: str, *, watchdog: bool = True, generation_s: float = 0.3,
                  **settings: str):
    """A :class:`Stack` on ``redis_server`` and ``database_url``, migrated, its Redis
    empty, a worker and (unless ``watchdog=False``) the watchdog running."""
    stack = Stack(redis_url=redis_server.url, database_url=database_url, generation_s=generation_s,
                  **{**FAST_WATCHDOG, **settings})
    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.env.items():
            patch.setenv(key, value)
        stack.context = Context(load_settings())
        try:
            migrate()
            redis_server.client().flushall()
            stack.start_worker()
            if watchdog:
                stack.start_watchdog()
                wait_for_watchdog(stack)
            yield stack
        finally:
            stack.close()
            stack.context.close()


def watchdog_metrics(stack: Stack, name: str = "watchdog") -> str | None:
    """The watchdog's ``/metrics`` page, or None while it does not answer."""
    port = stack.watchdog_ports[name]
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None


def wait_for_watchdog(stack: Stack, name: str = "watchdog") -> None:
    """Until the watchdog serves its metrics (it is up, its first pass under way)."""
    wait_until(lambda: watchdog_metrics(stack, name), timeout=60, interval=0.1, what=f"{name} to serve metrics")


def watchdog_value(stack: Stack, series: str, name: str = "watchdog") -> float:
    """The value of ``series`` (a metric name with its labels, as exposed) on a watchdog."""
    for line in (watchdog_metrics(stack, name) or "").splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} does not report {series}")


def start_job_without_sending(seller: Seller, product_info: str = "Ceramic mug, 350 ml, matte white"):
    """What the bot does for a photo up to the commit — photo stored, status message
    sent, job created with its debit — and then nothing: the bot crashed before
    it enqueued the job's first message."""
    context = seller.stack.context
    settings = context.settings
    job_id = uuid.uuid4()
    photo = context.storage.save_photo(job_id, PRODUCT_JPG.read_bytes())
    status = seller._send_status_message(product_info)
    job, _ = jobs.start_job(user_id=seller.id, chat_id=seller.id, product_info=product_info,
                            language=seller.language, price=settings.credits.price,
                            max_in_flight=settings.telegram.max_jobs_in_flight, photo_path=str(photo),
                            job_id=job_id)
    jobs.set_status_message(job.id, status)
    return job


def videos(seller: Seller) -> list[dict]:
    return [e for e in seller.transcript()["events"] if e["type"] == "bot_message" and e.get("video")]


def ledger(job, kind: str) -> int:
    from neurocards.models import LedgerEntry

    return LedgerEntry.select().where((LedgerEntry.job == job.id) & (LedgerEntry.kind == kind)).count()


def log_lines(stack: Stack, name: str, job_id) -> list[str]:
    """The lines of process ``name``'s log about ``job_id``."""
    return [line for line in stack.log(name).splitlines() if f"job={job_id}" in line]


@pytest.fixture(scope="module")
def own_redis():
    """A Redis this module may restart."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_postgres():
    """A PostgreSQL this module may restart."""
    server = PostgresServer()
    yield server
    server.stop()
