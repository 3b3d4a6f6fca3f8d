"""Redis and PostgreSQL restart under jobs in flight; nothing else does (DESIGN §12).

The worker and the watchdog go on as they are — the same processes before and
after — and every job ends: delivered, not refunded.  Redis comes back with its
data (a restart) or empty (a fail-over to a replica that lagged, a lost volume):
either way the consumers reconnect by themselves (Dramatiq restarts them),
and the watchdog polls the jobs whose messages were lost with the KIE task they
have.  PostgreSQL is stopped the way a service manager stops it (fast: every
connection cut) and started again: each thread's dead connection reconnects at
its next statement.
"""

from __future__ import annotations

import httpx
import pytest

from neurocards.db import close_database
from neurocards.models import Job
from tests.pipeline_fixtures import Seller, fresh  # noqa: F401  (fixtures)
from tests.services import wait_until
from tests.stack import wait_for_final
from tests.watchdog_fixtures import database_url_for, ledger, own_postgres, own_redis, running_stack, videos  # noqa: F401


#: The pipeline's retries in this module: enough backoff (~8 s) to outlast a restart of a
#: server, as production's (5 retries from 5 s: ~2.5 min) outlast a real one.  A delivery's
#: time limit long enough for a slow send on a busy machine to end inside it (the watchdog's
#: delivering limit above it, so that a claim that old has no live holder).
OUTAGE_TOLERANT = {"PIPELINE__MAX_RETRIES": "8", "PIPELINE__MAX_BACKOFF_S": "1",
                   "PIPELINE__DELIVER_TIME_LIMIT_S": "9", "WATCHDOG__DELIVERING_S": "10"}


#: What Dramatiq's consumer logs when it loses Redis (it restarts itself after it).
CONSUMER_LOST_REDIS = "Consumer encountered a connection error"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(request, own_redis, own_postgres, tmp_path_factory):
    url = database_url_for(request.param, own_postgres, tmp_path_factory)
    with running_stack(own_redis, url, **OUTAGE_TOLERANT) as stack:
        stack.engine = request.param
        yield stack


def job_at_kie(stack, generation_s: float = 3):
    """A seller's job being filmed at KIE (``generation_s``), its task created."""
    seller = Seller(stack)
    httpx.post(f"{stack.kie.url}/_sandbox/kie/config", json={"generation_s": generation_s}).raise_for_status()
    job = seller.start_job()
    wait_until(lambda: Job.get_by_id(job.id).kie_task_id, timeout=90, what="the KIE task")
    return seller, job


def assert_delivered_once_charged_once(stack, seller, job) -> None:
    job = wait_for_final(job.id, timeout=90)
    assert job.status == "done", (job.error_class, job.error_detail)
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert len(videos(seller)) == 1
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 1  # its task polled, never a second one


@pytest.mark.parametrize("keep_data", [True, False], ids=["with its data", "empty"])
def test_a_job_at_kie_is_delivered_through_a_redis_restart(stack, own_redis, keep_data):
    # Given a job at KIE, its next poll waiting in Redis (and in the worker's memory)
    seller, job = job_at_kie(stack)
    worker, watchdog = stack.processes["worker"], stack.processes["watchdog"]
    noticed = stack.log("worker").count(CONSUMER_LOST_REDIS)

    # When Redis goes away, long enough for the worker to notice (its consumers drop
    # the delayed messages they held), and comes back with its data or without
    own_redis.halt(keep_data=keep_data)
    wait_until(lambda: stack.log("worker").count(CONSUMER_LOST_REDIS) > noticed, timeout=60,
               what="the worker to notice Redis is gone")
    own_redis.start()

    # Then the job is delivered, charged once, with the one KIE task it had
    # (polled again by the watchdog if its poll was lost)
    assert_delivered_once_charged_once(stack, seller, job)
    # by the same worker and watchdog, which reconnected by themselves
    assert worker.poll() is None and watchdog.poll() is None


@pytest.mark.parametrize("stack", ["postgres"], indirect=True, scope="module")
def test_a_job_at_kie_is_delivered_through_a_postgres_fast_restart(stack, own_postgres):
    # Given a job at KIE, every worker thread holding a connection
    seller, job = job_at_kie(stack)
    worker, watchdog = stack.processes["worker"], stack.processes["watchdog"]

    # When PostgreSQL is restarted as a service manager does it (fast: connections cut)
    close_database()  # (this test process's own connection)
    own_postgres.halt()
    own_postgres.start()

    # Then the video is delivered, not refunded, by the same worker and watchdog
    assert_delivered_once_charged_once(stack, seller, job)
    assert worker.poll() is None and watchdog.poll() is None
    assert not [line for line in stack.log("worker").splitlines() if "refunded" in line and str(job.id) in line]



@pytest.mark.parametrize("stack", ["postgres"], indirect=True, scope="module")
def test_a_video_sent_while_postgres_is_down_is_recorded_when_it_is_back_and_never_sent_twice(stack, own_postgres):
    # Given a job whose video Telegram takes its time to accept
    seller = Seller(stack)
    stack.fault("telegram", "slow", count=1, params={"delay_s": 3}, match={"method": "sendVideo"})
    job = seller.start_job()
    wait_until(lambda: stack.calls("telegram").get("sendVideo"), timeout=90, what="the video on its way")

    # When PostgreSQL stops while the video is on its way, and starts again only
    # after the worker could not record the video as sent and its time limit (9 s
    # here) cut that message short, so that a retry or the watchdog took over
    # (the worker's log counted from here: the module's earlier tests wrote to it)
    seen = len(stack.log("worker"))
    close_database()  # (this test process's own connection)
    own_postgres.halt()
    wait_until(lambda: "could not record advance" in stack.log("worker")[seen:], timeout=60,
               what="the worker to meet the database down after the send")
    wait_until(lambda: "video already in the chat" in stack.log("worker")[seen:], timeout=60,
               what="a later delivery of the job to find the video sent")
    own_postgres.start()

    # Then the job is done with the one video the seller got, charged once
    assert_delivered_once_charged_once(stack, seller, job)
    assert stack.calls("telegram").get("sendVideo") == 1
