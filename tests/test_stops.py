"""Every process of ours exits soon after SIGTERM — sent to its whole process group
as systemd does, or to its main process alone — and work it was doing is not
lost: an interrupted message is redelivered (DESIGN §12).

Nothing here is timed: each stop is given a generous bound and the test asserts
that the processes exited (and how), not how fast.
"""

from __future__ import annotations

import os
import signal

import pytest

from neurocards.models import Job
from tests.bot_fixtures import Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import Seller, fresh  # noqa: F401  (fixtures)
from tests.services import wait_until
from tests.stack import wait_for_final
from tests.watchdog_fixtures import ledger, running_stack, videos, wait_for_watchdog, watchdog_value

#: How long a stopping process may take before the test calls it stuck (it takes ~3 s).
EXIT_BOUND_S = 30


@pytest.fixture(scope="module")
def stack(redis_server, tmp_path_factory):
    """A worker with no watchdog beside it: a job that completes was redelivered by Redis."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'neurocards.db'}"
    with running_stack(redis_server, url, watchdog=False) as stack:
        yield stack


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def assert_stops(stack, name: str, *, group: bool = True) -> int:
    """SIGTERM ``name`` (its whole group, or its main process); every process of the
    group must exit within the bound.  Returns the main process's exit code."""
    process = stack.processes[name]
    if group:
        stack.signal_group(name)
    else:
        process.send_signal(signal.SIGTERM)
    wait_until(lambda: process.poll() is not None and group_gone(process.pid), timeout=EXIT_BOUND_S,
               interval=0.1, what=f"every process of {name} to exit")
    stack.forget(name)
    return process.returncode


def a_job_mid_send(stack) -> tuple[Seller, Job]:
    """A job whose video is being sent (Telegram takes 6 s: longer than the worker's
    shutdown timeout), after the worker has done the rest of the job's work."""
    seller = Seller(stack)
    stack.fault("telegram", "slow", count=1, params={"delay_s": 6}, match={"method": "sendVideo"})
    job = seller.start_job()
    wait_until(lambda: Job.get_by_id(job.id).send_claim, timeout=90, what="the video send to start")
    return seller, job


@pytest.mark.parametrize("group", [True, False], ids=["process group", "main process"])
def test_a_stopped_worker_exits_and_its_interrupted_job_completes(stack, group):
    # Given a worker in the middle of a job's video send (and the next worker starting)
    seller, job = a_job_mid_send(stack)
    stack.start_worker("next-worker")

    # When it is stopped with SIGTERM
    code = assert_stops(stack, "worker", group=group)

    # Then every process of it exited, cleanly
    assert code == 0, stack.log("worker")[-2000:]
    # and the interrupted send is redelivered to the next worker: done, charged once
    job = wait_for_final(job.id, timeout=90)
    stack.processes["worker"] = stack.processes.pop("next-worker")
    assert job.status == "done", (job.error_class, job.error_detail)
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert 1 <= len(videos(seller)) <= 2  # the cut send may have reached Telegram


def test_the_bot_exits_after_serving(bot):
    # Given the bot, having answered a seller
    Chat(bot).start()

    # When its process group is sent SIGTERM, it exits cleanly
    assert assert_stops(bot, "bot") == 0


def leader(stack, name: str) -> float:
    return watchdog_value(stack, "neurocards_watchdog_leader", name)


#: A lease longer than the test waits for a hand-over: one can only come from a release.
LONG_LEASE = {"WATCHDOG__LEASE_S": "600"}


def test_one_watchdog_is_active_and_a_stopped_one_hands_over(stack):
    # Given two watchdogs started at once (two hosts)
    names = ("watchdog", "watchdog-2")
    for name in names:
        stack.start_watchdog(name, **LONG_LEASE)
    for name in names:
        wait_for_watchdog(stack, name)
        wait_until(lambda: "watchdog: active" in stack.log(name) or "standing by" in stack.log(name), timeout=30,
                   what=f"{name} to try the lease")

    # Then exactly one is active
    leaders = [name for name in names if leader(stack, name) == 1]
    assert len(leaders) == 1, [(name, leader(stack, name)) for name in names]
    [other] = set(names) - set(leaders)

    # When the active one is stopped with SIGTERM, it exits cleanly, giving its lease up
    assert assert_stops(stack, leaders[0]) == 0

    # and the other takes over (long before the lease would have expired)
    wait_until(lambda: leader(stack, other) == 1, timeout=30, what="the other watchdog to take over")
    assert "active (holding the lease)" in stack.log(other)
    assert assert_stops(stack, other) == 0
