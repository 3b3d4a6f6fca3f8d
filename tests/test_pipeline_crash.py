"""SIGKILL the worker in the middle of each stage, start a new one: the job
completes, with one debit and no refund.  (A killed worker's unacked messages
go back to the queue once its heartbeat is stale: 3 s in tests.)"""

import httpx
import pytest

from neurocards.models import LedgerEntry
from tests.pipeline_fixtures import Seller, fresh, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final, wait_for_status


def hold_enhancing(stack):
    stack.fault("openai", "slow", count=1, params={"delay_s": 4})


def hold_generating(stack):
    httpx.post(f"{stack.kie.url}/_sandbox/kie/config", json={"generation_s": 4}).raise_for_status()


def hold_downloading(stack):
    stack.fault("kie", "download_slow", count=1, params={"delay_s": 1})


def hold_delivering(stack):
    stack.fault("telegram", "slow", count=1, params={"delay_s": 4}, match={"method": "sendVideo"})


@pytest.mark.parametrize(
    "stage, hold",
    [("enhancing", hold_enhancing), ("generating", hold_generating),
     ("downloading", hold_downloading), ("delivering", hold_delivering)],
)
def test_a_worker_killed_mid_stage_leaves_nothing_behind(stack, stage, hold):
    # Given a job held in one stage
    seller = Seller(stack)
    hold(stack)
    job = wait_for_status(seller.start_job().id, (stage,))

    # When the worker is killed there and a new one starts
    stack.kill("worker")
    stack.start_worker()

    # Then the job completes, charged once, never refunded
    job = wait_for_final(job.id, timeout=90)
    assert job.status == "done", (job.error_class, job.error_detail)
    debits = LedgerEntry.select().where((LedgerEntry.job == job.id) & (LedgerEntry.kind == "debit")).count()
    refunds = LedgerEntry.select().where((LedgerEntry.job == job.id) & (LedgerEntry.kind == "refund")).count()
    assert (debits, refunds) == (1, 0)
    videos = [e for e in seller.transcript()["events"] if e["type"] == "bot_message" and e.get("video")]
    assert len(videos) >= 1  # a send cut by the crash may already have reached Telegram
