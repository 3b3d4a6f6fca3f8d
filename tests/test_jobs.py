"""The job store's reads, on both engines: :func:`jobs.get_job`, which every
actor calls and which builds its model from the row itself, reads a job back
exactly as peewee's own query does."""

from __future__ import annotations

import datetime as dt
import uuid

from neurocards import jobs
from neurocards.models import Job, utcnow
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
