"""The job store, on both engines: :func:`jobs.get_job`, which every actor calls
and which builds its model from the row itself, reads a job back exactly as
peewee's own query does; a job is never failed while its video is being sent,
and a failure undone by a video that landed anyway reverses its refund."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from neurocards import jobs
from neurocards.errors import Failure, Kind
from neurocards.jobs import Claim
from neurocards.models import Job, JobStatus, utcnow
from neurocards.money import credits
from neurocards.money.audit import audit
from neurocards.users import register


def test_get_job_reads_every_field_as_peewee_does(database_url):
    register(7, "en", welcome_credits=2)
    parent = Job.create(user=7, chat_id=7, product_info="first")
    now = utcnow()
    job = Job.create(user=7, chat_id=-1007, product_info="Mug, 350 ml — «matte»", language="en", parent=parent,
                     status="delivering", kie_task_id="task-1", kie_attempts=2, poll_count=5, price=3,
                     status_message_id=42, video_bytes=1_048_576, created_at=now - dt.timedelta(minutes=5),
                     generating_at=now - dt.timedelta(minutes=4), delivering_at=now, kie_image_expires_at=now)

    read = jobs.get_job(str(job.id))

    assert read.__data__ == Job.get_by_id(job.id).__data__
    assert not read._dirty
    assert (read.id, read.user_id, read.parent_id, read.done_at) == (job.id, 7, parent.id, None)
    assert isinstance(read.created_at, dt.datetime) and isinstance(read.id, uuid.UUID)
    assert read.user.id == 7  # its relations load as a model's do


def test_get_job_of_an_unknown_or_malformed_id_is_none(database_url):
    assert jobs.get_job(str(uuid.uuid4())) is None
    assert jobs.get_job("not-a-uuid") is None
    assert jobs.get_job("") is None


# -- failing, and a video that landed anyway (issue 25, hole 3) ------------------------------------


def _started(user_id: int = 8) -> Job:
    register(user_id, "en", welcome_credits=1)
    job, _ = jobs.start_job(user_id=user_id, chat_id=user_id, product_info="Mug", language="en", price=1,
                            max_in_flight=2)
    Job.update(status="delivering").where(Job.id == job.id).execute()
    return job


def test_a_job_is_not_failed_while_its_send_is_claimed(database_url):
    job = _started()
    assert jobs.claim(job.id, JobStatus.DELIVERING, Claim.SEND, "delivery-B")
    with pytest.raises(jobs.SendInFlight):
        jobs.fail_job(job.id, Failure(Kind.SYSTEM, "telegram_error", "delivery A gave up"))
    assert Job.get_by_id(job.id).status == "delivering" and credits.balance_of(8) == 0
    jobs.release(job.id, Claim.SEND, "delivery-B")  # B gave up too: now it fails, refunded once
    assert jobs.fail_job(job.id, Failure(Kind.SYSTEM, "telegram_error", "delivery B gave up")) is not None
    assert credits.balance_of(8) == 1 and audit()["ok"]


def test_undoing_a_failure_reverses_its_refund_once(database_url):
    job = _started()
    jobs.fail_job(job.id, Failure(Kind.SYSTEM, "expired", "test"))
    reversal = jobs.undo_failure(job.id, video_message_id=77, video_file_id="f")
    assert reversal is not None and reversal.amount == -1
    assert jobs.undo_failure(job.id, video_message_id=77, video_file_id="f") is None  # done: nothing to undo
    done = Job.get_by_id(job.id)
    assert (done.status, done.video_message_id, done.error_class) == ("done", 77, "")
    assert credits.balance_of(8) == 0
    assert audit()["ok"], audit()["problems"]


def test_a_refund_already_spent_leaves_the_job_done_and_the_audit_says_so(database_url):
    job = _started()
    jobs.fail_job(job.id, Failure(Kind.SYSTEM, "expired", "test"))
    credits.grant(8, -1, reason="spent on another video")
    assert jobs.undo_failure(job.id, video_message_id=77, video_file_id="f") is None
    assert Job.get_by_id(job.id).status == "done"
    assert [p["problem"] for p in audit()["problems"]] == ["done_job_refunded"]


def test_the_audit_sees_a_refunded_job_whose_video_was_delivered(database_url):
    job = _started()
    jobs.fail_job(job.id, Failure(Kind.SYSTEM, "expired", "test"))
    Job.update(video_message_id=77).where(Job.id == job.id).execute()
    assert [p["problem"] for p in audit()["problems"]] == ["delivered_job_refunded"]
