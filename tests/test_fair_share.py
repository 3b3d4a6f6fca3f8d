"""The fair order of KIE creates (issue 22): round-robin across sellers, the
seller served least recently first, an optional lane for paying sellers — and
the queue position and time left a seller is told, from the same order.  On
both engines (SQLite hands MAX() of a datetime back as text)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from neurocards.jobs import eta
from neurocards.limits import fair_share
from neurocards.models import Job, Payment, User
from neurocards.settings import load_settings

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)
BIG, SMALL, LATE, PAYING = 1, 2, 3, 4


@pytest.fixture
def settings(database_url):
    settings = load_settings()
    settings.eta.refresh_s = 0
    for user in (BIG, SMALL, LATE, PAYING):
        User.create(id=user, language="en")
    return settings


def waiting(user: int, second: float) -> Job:
    """A job of ``user`` waiting for its KIE create since ``second`` after T0."""
    return Job.create(user=user, chat_id=user, status="generating", kie_task_id="", model="veo3_fast",
                      created_at=T0, generating_at=T0 + dt.timedelta(seconds=second))


def created(user: int, second: float) -> Job:
    """A job of ``user`` whose task KIE created ``second`` after T0 (the seller last served then)."""
    return Job.create(user=user, chat_id=user, status="generating", kie_task_id=uuid.uuid4().hex,
                      model="veo3_fast", created_at=T0, generating_at=T0,
                      kie_submitted_at=T0 + dt.timedelta(seconds=second))


def test_one_sellers_many_jobs_take_turns_with_everyone_elses_first(settings):
    big = [waiting(BIG, n) for n in range(4)]  # came first
    small, late = waiting(SMALL, 10), waiting(LATE, 20)
    order = fair_share.fair_order()
    # round 0: each seller's oldest (never served: by arrival); then the big seller's next, one a round
    assert order == [big[0].id, small.id, late.id, big[1].id, big[2].id, big[3].id]


def test_the_seller_served_least_recently_goes_first_within_a_round(settings):
    created(BIG, 100)  # the big seller just had a task created; the small one long ago
    created(SMALL, 1)
    big, small, late = waiting(BIG, 0), waiting(SMALL, 50), waiting(LATE, 90)
    assert fair_share.fair_order() == [late.id, small.id, big.id]  # never served, then served longest ago


def test_the_paid_lane_puts_paying_sellers_first_when_on(settings):
    free, paying = waiting(BIG, 0), waiting(PAYING, 30)
    Payment.create(user=PAYING, telegram_charge_id="charge-1", invoice_payload="pack:small", currency="XTR",
                   stars=50, credits=5)
    assert fair_share.fair_order(paid_lane=False) == [free.id, paying.id]
    assert fair_share.fair_order(paid_lane=True) == [paying.id, free.id]


def test_a_job_behind_the_window_waits_for_the_jobs_ahead_and_is_told_its_place(settings):
    settings.kie.create_limit, settings.kie.create_window_s, settings.kie.rate_margin_s = 2, 1.0, 0.0
    big = [waiting(BIG, n) for n in range(5)]
    small = waiting(SMALL, 10)
    # the order: big 0, small, big 1..4; the window holds the first two
    assert [fair_share.turn(job, settings).wait_s == 0 for job in (big[0], small, big[1])] == [True, True, False]
    behind = fair_share.turn(big[4], settings)
    assert behind.ahead == 5 and behind.wait_s == pytest.approx((5 - 2 + 1) / 2)
    # the status message: its place in the same order, and the creates ahead of it in the time left
    assert eta.queue_position(small, settings) == 2 and eta.queue_position(big[4], settings) == 6
    found = eta.estimate(big[4], settings, now=T0)
    assert found.position == 6
    typical = eta.typical_stage_s("veo3_fast", settings)
    assert found.seconds_left == pytest.approx(5 / 2 + sum(typical[stage] for stage in eta.STAGES[2:]))


def test_with_no_crowd_or_fair_share_off_every_job_tries_at_once(settings):
    settings.kie.create_limit = 2
    jobs = [waiting(BIG, 0), waiting(BIG, 1)]  # as many as the window holds: no crowd
    assert [fair_share.turn(job, settings).wait_s for job in jobs] == [0, 0]
    jobs.append(waiting(BIG, 2))
    settings.kie.fair_share = False
    assert fair_share.turn(jobs[2], settings).wait_s == 0
    assert eta.queue_position(jobs[2], settings) == 3  # its place by arrival, as before
