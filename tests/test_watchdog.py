"""The watchdog (DESIGN §12) finds jobs whose messages were lost and moves them on,
on both engines: a real ``neurocards watchdog`` process next to a real worker.

Messages are lost the ways they are lost in production: the bot crashing
between committing a job and enqueueing it, Redis flushed while a job is at
KIE, a worker killed in the middle of a send while its message is lost too.
"""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from neurocards import jobs
from neurocards.errors import Failure, Kind
from neurocards.models import Job, User, utcnow
from neurocards.texts import text
from tests.pipeline_fixtures import Seller, fresh  # noqa: F401  (fixtures)
from tests.services import wait_until
from tests.stack import wait_for_final, wait_for_status
from tests.watchdog_fixtures import (
    database_url_for,
    ledger,
    log_lines,
    running_stack,
    start_job_without_sending,
    videos,
    watchdog_value,
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(request, redis_server, postgres_server, tmp_path_factory):
    url = database_url_for(request.param, postgres_server, tmp_path_factory)
    with running_stack(redis_server, url) as stack:
        yield stack


def support() -> str:
    from neurocards.settings import load_settings

    return load_settings().telegram.support_contact


def rescues(stack, stage: str, action: str) -> float:
    """The watchdog's ``neurocards_watchdog_rescues_total{stage,action}`` now."""
    return watchdog_value(stack, f'neurocards_watchdog_rescues_total{{action="{action}",stage="{stage}"}}')


def test_a_job_the_bot_never_enqueued_is_delivered(stack):
    # Given a job committed with its debit, whose first message was never sent
    seller = Seller(stack)
    before = rescues(stack, "created", "resend")
    job = start_job_without_sending(seller)

    # When the watchdog finds it stuck in "created"
    job = wait_for_final(job.id, timeout=90)

    # Then the seller gets the video, charged once, never refunded
    assert job.status == "done", (job.error_class, job.error_detail)
    assert len(videos(seller)) == 1
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    # and the rescue is logged with the job id, and counted
    assert any("stuck in created" in line and "enhance_prompt" in line for line in log_lines(stack, "watchdog", job.id))
    assert rescues(stack, "created", "resend") >= before + 1


def test_a_job_at_kie_is_polled_again_with_its_task_when_redis_was_flushed(stack):
    # Given a job being filmed at KIE (3 s), its poll chain in Redis
    seller = Seller(stack)
    httpx.post(f"{stack.kie.url}/_sandbox/kie/config", json={"generation_s": 3}).raise_for_status()
    job = seller.start_job()
    wait_until(lambda: Job.get_by_id(job.id).kie_task_id, timeout=90, what="the KIE task")

    # When someone flushes Redis: every message of the job is gone
    stack.kill("worker")
    stack.context.redis.flushall()
    stack.start_worker()

    # Then the watchdog polls the task it has, and the job is delivered: one KIE task, no refund
    job = wait_for_final(job.id, timeout=90)
    assert job.status == "done", (job.error_class, job.error_detail)
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 1
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert len(videos(seller)) == 1
    assert any("stuck in generating" in line and "poll_generation" in line
               for line in log_lines(stack, "watchdog", job.id))


def test_a_send_cut_by_a_crash_whose_message_was_lost_is_sent_again(stack):
    # Given a job whose video is being sent (Telegram slow), its send claimed
    seller = Seller(stack)
    stack.fault("telegram", "slow", count=1, params={"delay_s": 2}, match={"method": "sendVideo"})
    job = seller.start_job()
    wait_until(lambda: Job.get_by_id(job.id).send_claim, timeout=90, what="the send to be claimed")

    # When the worker dies mid-send and its messages are lost with Redis's data
    stack.kill("worker")
    stack.context.redis.flushall()
    stack.start_worker()

    # Then the watchdog clears the claim nobody holds and has the video sent: done, never refunded
    job = wait_for_final(job.id, timeout=90)
    assert job.status == "done", (job.error_class, job.error_detail)
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert 1 <= len(videos(seller)) <= 2  # the cut send may have reached Telegram
    assert any("stuck in delivering" in line and "cleared send_claim" in line
               for line in log_lines(stack, "watchdog", job.id))


def test_a_seller_never_told_of_a_failure_is_told(stack):
    # Given a job failed and refunded, whose failure message was never sent
    seller = Seller(stack)
    job = start_job_without_sending(seller)
    jobs.fail_job(job.id, Failure(Kind.SYSTEM, "generation_failed", "test"))

    # Then the watchdog has the seller told, once
    seller.wait_for_text(text(seller.language, "failure.generation_failed"), timeout=30)
    wait_until(lambda: Job.get_by_id(job.id).failure_notified_at, timeout=30, what="the notice to be recorded")
    failure = text(seller.language, "failure.generation_failed")
    assert [e.get("text") for e in seller.bot_events("bot_message")].count(failure) == 1
    assert ledger(job, "refund") == 1


def test_a_stuck_job_past_its_deadline_is_failed_refunded_and_told(stack):
    # Given a job stuck in "created" (never enqueued) since long before the deadline
    seller = Seller(stack)
    job = start_job_without_sending(seller)
    long_ago = utcnow() - dt.timedelta(hours=3)
    Job.update(created_at=long_ago, updated_at=long_ago).where(Job.id == job.id).execute()

    # Then the watchdog fails it with its refund, and the seller is told to try again
    job = wait_for_status(job.id, ("failed",), timeout=30)
    assert job.error_class == "expired"
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 1)
    assert User.get_by_id(seller.id).balance == 1
    seller.wait_for_text(text(seller.language, "failure.busy", support=support()), timeout=30)
    assert any("past its deadline" in line for line in log_lines(stack, "watchdog", job.id))
    assert rescues(stack, "created", "fail") >= 1


def test_a_job_past_its_deadline_whose_video_is_in_the_chat_is_recorded_done_not_refunded(stack):
    # Given a job stuck in "delivering" past the deadline, whose video Telegram
    # accepted while recording it failed: its ids are noted in Redis, the job never moved
    from neurocards.jobs import sent_videos

    seller = Seller(stack)
    job = start_job_without_sending(seller)
    long_ago = utcnow() - dt.timedelta(hours=3)
    Job.update(status="delivering", created_at=long_ago, updated_at=long_ago, delivering_at=long_ago,
               video_bytes=1000).where(Job.id == job.id).execute()
    sent_videos.note(stack.context.redis, job.id, 424242, "file-noted")

    # Then the watchdog has the delivery recorded: done with the noted video, never refunded
    job = wait_for_final(job.id, timeout=30)
    assert job.status == "done", (job.error_class, job.error_detail)
    assert (job.video_message_id, job.video_file_id) == (424242, "file-noted")
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert videos(seller) == []  # recorded, not sent again
    assert not any("past its deadline" in line for line in log_lines(stack, "watchdog", job.id))


def test_a_batch_whose_start_was_lost_is_started_by_the_watchdog_and_queues_behind_itself(stack):
    # Given a batch of three made and debited, whose first message the bot never sent
    from neurocards.jobs import batches
    from neurocards.money import credits
    from tests.pipeline_fixtures import PRODUCT_JPG

    seller = Seller(stack)
    credits.grant(seller.id, 2, "test")
    context, price = stack.context, stack.context.settings.credits.price
    videos_ = []
    for number in range(3):
        job_id = uuid.uuid4()
        path = context.storage.save_photo(job_id, PRODUCT_JPG.read_bytes())
        videos_.append(batches.BatchJob(job_id, f"Mug #{number}", str(path)))
    _, made, created = batches.start_batch(key=f"batch:{seller.id}:lost", user_id=seller.id, chat_id=seller.id,
                                           language=seller.language, videos=videos_, price=price, tier="fast",
                                           model="", aspect_ratio="", preset="")
    assert created and all(job.batch_waiting for job in made)

    # When the watchdog finds them waiting with nobody looking after them
    ended = [wait_for_final(job.id, timeout=120) for job in made]

    # Then every one is made and delivered, charged once, never refunded
    assert [job.status for job in ended] == ["done"] * 3
    assert [(ledger(job, "debit"), ledger(job, "refund")) for job in ended] == [(1, 0)] * 3
    assert len(videos(seller)) == 3
    assert rescues(stack, "created", "resend") >= 1


def waiting_batch(stack, seller, name: str, size: int) -> list[Job]:
    """A batch of ``size`` made and debited whose launch message was never sent."""
    from neurocards.jobs import batches
    from neurocards.money import credits
    from tests.pipeline_fixtures import PRODUCT_JPG

    credits.grant(seller.id, size, "test")
    context = stack.context
    videos_ = []
    for number in range(size):
        job_id = uuid.uuid4()
        path = context.storage.save_photo(job_id, PRODUCT_JPG.read_bytes())
        videos_.append(batches.BatchJob(job_id, f"Mug #{number}", str(path)))
    _, made, created = batches.start_batch(key=f"batch:{seller.id}:{name}", user_id=seller.id, chat_id=seller.id,
                                           language=seller.language, videos=videos_,
                                           price=context.settings.credits.price, tier="fast", model="",
                                           aspect_ratio="", preset="")
    assert created
    return made


def test_a_batch_job_waiting_past_its_longest_wait_is_failed_and_refunded(stack):
    # Given a batch whose jobs have waited their turn for longer than watchdog.batch_wait_s
    seller = Seller(stack)
    made = waiting_batch(stack, seller, "too-long", 2)
    long_ago = utcnow() - dt.timedelta(seconds=stack.context.settings.watchdog.batch_wait_s + 3600)
    Job.update(created_at=long_ago, updated_at=long_ago).where(Job.id.in_([job.id for job in made])).execute()

    # When the watchdog finds them
    ended = [wait_for_final(job.id, timeout=90) for job in made]

    # Then each is failed past its deadline and refunded once, and the seller is told
    assert [(job.status, job.error_class) for job in ended] == [("failed", "expired")] * 2
    assert [(ledger(job, "debit"), ledger(job, "refund")) for job in ended] == [(1, 1)] * 2
    wait_until(lambda: all(Job.get_by_id(job.id).failure_notified_at for job in made), timeout=30)
    assert videos(seller) == []


def test_a_blocked_sellers_waiting_batch_is_refunded_not_made(stack):
    # Given a batch waiting its turn whose seller has blocked the bot
    from neurocards import users

    seller = Seller(stack)
    made = waiting_batch(stack, seller, "blocked", 3)
    users.mark_blocked(seller.id)
    idle = utcnow() - dt.timedelta(seconds=stack.context.settings.watchdog.created_s + 60)
    Job.update(updated_at=idle).where(Job.id.in_([job.id for job in made])).execute()

    # When the watchdog launches the batch nobody looked after
    ended = [wait_for_final(job.id, timeout=90) for job in made]

    # Then none is made: each failed for the block and refunded once, nothing sent to KIE
    assert [(job.status, job.error_class) for job in ended] == [("failed", "telegram_blocked")] * 3
    assert [(ledger(job, "debit"), ledger(job, "refund")) for job in ended] == [(1, 1)] * 3
    assert [(job.kie_task_id, job.enhancing_at) for job in ended] == [("", None)] * 3
