"""Fair share end to end (issue 22): a real worker against the sandbox KIE, with
a create budget of two a second — one seller's ten jobs and three sellers'
single jobs waiting for a create at once are created round-robin, every
seller's first before the big seller's second, each job delivered and charged
once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from neurocards import jobs
from neurocards.dispatch import ActorName
from neurocards.models import Job, utcnow
from tests.pipeline_fixtures import PRODUCT_JPG, Seller, fresh, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final

STACK_ENV = {"NEUROCARDS_KIE__CREATE_LIMIT": "2", "NEUROCARDS_KIE__CREATE_WINDOW_S": "1",
             "NEUROCARDS_KIE__RATE_MARGIN_S": "0.1", "NEUROCARDS_TELEGRAM__MAX_JOBS_IN_FLIGHT": "20"}

pytestmark = pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module")


def waiting_for_create(stack, seller: Seller, product: str, at: dt.datetime) -> Job:
    """A paid job whose prompt is written, waiting for its KIE create since ``at``
    (what ``enhance_prompt`` leaves), its submit not yet sent.  No status message:
    ten at once in one chat would meet Telegram's per-chat limit here, in the test."""
    context = stack.context
    job_id = uuid.uuid4()
    photo = context.storage.save_photo(job_id, PRODUCT_JPG.read_bytes())
    job, _ = jobs.start_job(user_id=seller.id, chat_id=seller.id, product_info=product, language=seller.language,
                            price=context.settings.credits.price, max_in_flight=20, photo_path=str(photo),
                            job_id=job_id)
    Job.update(status="generating", prompt=f"A slow turntable shot of {product}", enhancing_at=at,
               generating_at=at, updated_at=at).where(Job.id == job.id).execute()
    return Job.get_by_id(job.id)


def test_one_sellers_ten_jobs_do_not_hold_back_three_sellers_first(stack):
    now = utcnow()
    big = Seller(stack, credits=10)
    mine = [waiting_for_create(stack, big, f"Mug #{n}", now - dt.timedelta(seconds=30 - n)) for n in range(10)]
    others = [waiting_for_create(stack, Seller(stack), f"Lamp #{n}", now - dt.timedelta(seconds=10 - n))
              for n in range(3)]
    for job in mine + others:  # the big seller's messages first, as their jobs came first
        stack.context.send(ActorName.SUBMIT_GENERATION, str(job.id))

    ended = [wait_for_final(job.id, timeout=120) for job in mine + others]
    assert [job.status for job in ended] == ["done"] * 13
    created = sorted(ended, key=lambda job: job.kie_submitted_at)
    # two creates a window, the first two of the fair order competing for them: every seller's first
    # (the big seller's and the three others'), then the big seller's nine more
    assert {job.id for job in created[:4]} == {mine[0].id, *(job.id for job in others)}
    assert {job.id for job in created[4:]} == {job.id for job in mine[1:]}
