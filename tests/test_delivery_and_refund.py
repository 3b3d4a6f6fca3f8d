"""Never both a video and a refund (issue 25, hole 3), on both engines, with a
real worker and a video upload held in flight by a slow Telegram.

A delivery that failed for good has its job failed and refunded by
``fail_job`` (the dead-letter path sends it); meanwhile another delivery of the
same job — the watchdog's resend, a stale duplicate — may hold the send claim
with the video on its way.  ``fail_job`` leaves such a job alone until the
sender has decided; and a video that lands on a job failed anyway (its sender
taken for dead) makes the job done, its refund reversed through the ledger.
"""

from __future__ import annotations

import pytest

from neurocards import jobs
from neurocards.dispatch import ActorName
from neurocards.errors import Failure, Kind
from neurocards.jobs import Claim
from neurocards.models import Job, JobStatus, LedgerEntry, User
from tests.pipeline_fixtures import Seller, fresh, stack  # noqa: F401  (fixtures)
from tests.services import wait_until
from tests.stack import wait_for_final, wait_for_status

pytestmark = pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module")

#: How long Telegram takes to accept the video in these tests.
UPLOAD_S = 3


def ledger_kinds(job) -> list[str]:
    return sorted(entry.kind for entry in LedgerEntry.select().where(LedgerEntry.job == job.id))


def sending(stack, seller: Seller) -> Job:
    """A job whose video is being uploaded, slowly: its send claim held."""
    stack.fault("telegram", "slow", count=1, params={"delay_s": UPLOAD_S}, match={"method": "sendVideo"})
    job = seller.start_job()
    wait_until(lambda: Job.get_by_id(job.id).send_claim, timeout=60, what="the video's send to be claimed")
    return Job.get_by_id(job.id)


def test_a_failed_delivery_does_not_fail_a_job_whose_video_is_on_its_way(stack):
    # Given a job whose video another delivery is uploading
    seller = Seller(stack)
    job = sending(stack, seller)
    # When a delivery that failed for good is dead-lettered: fail_job, as DeadLetterRefunds sends it
    stack.context.send(ActorName.FAIL_JOB, str(job.id), "system", "telegram_error", "delivery A gave up")
    # Then the upload decides: the job is done, charged once, never refunded, the seller never told of a failure
    job = wait_for_final(job.id)
    assert job.status == "done", (job.error_class, job.error_detail)
    assert any("not failed yet" in line and f"job={job.id}" in line for line in stack.log().splitlines())
    assert job.failure_notified_at is None
    assert ledger_kinds(job) == ["debit"]
    videos = [e for e in seller.transcript()["events"] if e["type"] == "bot_message" and e.get("video")]
    assert len(videos) == 1


def test_a_video_landing_on_a_job_failed_meanwhile_reverses_its_refund(stack):
    # Given a job whose video is being uploaded
    seller = Seller(stack)
    job = sending(stack, seller)
    # When its sender is taken for dead (the watchdog clears the claim) and the job fails meanwhile
    assert jobs.take_for_rescue(job.id, JobStatus.DELIVERING, job.updated_at, (Claim.SEND,))
    assert jobs.fail_job(job.id, Failure(Kind.SYSTEM, "expired", "test: past its deadline")) is not None
    assert User.get_by_id(seller.id).balance == 1
    # Then the upload lands: the job is done after all, its refund reversed through the ledger
    job = wait_for_status(job.id, ("done",), timeout=30)
    assert job.video_message_id is not None and job.error_class == ""
    assert ledger_kinds(job) == ["debit", "refund", "refund_reversal"]
    assert User.get_by_id(seller.id).balance == 0
