"""With KIE's callbacks on, a generating job waits minutes between its
safety-net polls (``kie.poll_with_callbacks_s``), longer than the watchdog's
``generating_s``: the watchdog counts a generating job's silence from when its
next poll is due, so a job waiting on time is never "rescued" (issue 25, hole
4) — while one whose poll was lost still is.  A real watchdog and worker on
both engines; KIE's callback goes nowhere (its receiver is down), so the
scheduled poll is what finds the video.
"""

from __future__ import annotations

import pytest

from neurocards.models import Job
from tests.pipeline_fixtures import Seller, fresh  # noqa: F401  (fixtures)
from tests.services import free_port, wait_until
from tests.stack import wait_for_final
from tests.watchdog_fixtures import database_url_for, log_lines, running_stack

#: The gap before a job's first poll with callbacks on: twice the watchdog's generating_s (3 s).
POLL_WITH_CALLBACKS_S = 6


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(request, redis_server, postgres_server, tmp_path_factory):
    url = database_url_for(request.param, postgres_server, tmp_path_factory)
    with running_stack(redis_server, url, generation_s=1, KIE__CALLBACK_BASE_URL=f"http://127.0.0.1:{free_port()}",
                       KIE__POLL_WITH_CALLBACKS_S=str(POLL_WITH_CALLBACKS_S)) as stack:
        yield stack


def test_a_job_waiting_for_its_next_poll_is_not_taken_for_stuck(stack):
    # Given a job at KIE whose first poll is due 6 s after its task was created
    seller = Seller(stack)
    job = seller.start_job()
    wait_until(lambda: Job.get_by_id(job.id).next_poll_at, timeout=60, what="the task and its first poll's time")
    job = Job.get_by_id(job.id)
    assert (job.next_poll_at - job.kie_submitted_at).total_seconds() == pytest.approx(POLL_WITH_CALLBACKS_S)

    # When it waits past the watchdog's generating_s for that poll
    job = wait_for_final(job.id, timeout=60)

    # Then the poll finds the video on time, and the watchdog never stepped in
    assert job.status == "done", (job.error_class, job.error_detail)
    assert job.poll_count == 1
    assert not [line for line in log_lines(stack, "watchdog", job.id) if "stuck in generating" in line]


def test_a_job_whose_poll_was_lost_is_still_rescued(stack):
    # Given a job at KIE waiting for its first poll
    seller = Seller(stack)
    job = seller.start_job()
    wait_until(lambda: Job.get_by_id(job.id).next_poll_at, timeout=60, what="the task and its first poll's time")

    # When its poll message is lost (Redis flushed with the worker down)
    stack.kill("worker")
    stack.context.redis.flushall()
    stack.start_worker()

    # Then, past the poll's due time and generating_s, the watchdog polls it again: delivered
    job = wait_for_final(job.id, timeout=60)
    assert job.status == "done", (job.error_class, job.error_detail)
    assert [line for line in log_lines(stack, "watchdog", job.id) if "stuck in generating" in line]
