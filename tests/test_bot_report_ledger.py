"""Issue 14 on both databases, below the bot: what a report's outcome writes to the
ledger and what the audit makes of it, each report resolved once under a race,
and a broadcast confirmed once and taken over from a dead bot.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from neurocards import broadcasts, jobs
from neurocards.errors import Failure
from neurocards.jobs import reports
from neurocards.models import Broadcast, Job, LedgerKind, Report, ReportReason, utcnow
from neurocards.money import credits
from neurocards.money.audit import audit
from neurocards.settings import load_settings
from neurocards.users import register

SELLER = 42
ADMIN = 7


@pytest.fixture
def delivered(database_url):
    """A seller with a delivered job (price 1) and 2 credits left."""
    register(SELLER, "en", welcome_credits=3)
    job, _ = jobs.start_job(user_id=SELLER, chat_id=SELLER, product_info="Mug", language="en", price=1,
                            max_in_flight=2, photo_file_id="photo", tier="fast", model="veo3_fast",
                            aspect_ratio="9:16")
    Job.update(status="done", done_at=utcnow(), video_file_id="video").where(Job.id == job.id).execute()
    return Job.get_by_id(job.id)


def problems() -> list[str]:
    return [problem["problem"] for problem in audit()["problems"]]


def test_a_goodwill_refund_is_its_own_kind_and_the_audit_is_content(delivered):
    report, created = reports.open_report(delivered, ReportReason.BAD_QUALITY)
    assert created and reports.open_report(delivered, ReportReason.OTHER) == (report, False)
    resolution = reports.refund(report.id, ADMIN)
    assert (resolution.resolved, resolution.credits, credits.balance_of(SELLER)) == (True, 1, 3)
    assert problems() == []
    # a second tap, any outcome, moves nothing
    assert not reports.refund(report.id, ADMIN).resolved and not reports.dismiss(report.id, ADMIN).resolved
    assert credits.balance_of(SELLER) == 3 and problems() == []


def test_the_pipelines_refund_of_a_delivered_job_is_still_a_problem(delivered):
    credits.refund_job(delivered, reason="oops")
    assert problems() == ["done_job_refunded"]


def test_a_goodwill_refund_needs_its_report_and_a_delivered_job(delivered):
    credits.move(SELLER, 1, LedgerKind.GOODWILL_REFUND, f"goodwill_refund:{delivered.id}", job=delivered.id)
    assert problems() == ["goodwill_refund_without_report"]
    Job.update(status="failed").where(Job.id == delivered.id).execute()
    assert set(problems()) >= {"goodwill_refund_of_undelivered_job", "failed_job_refunds"}


def test_a_refunded_report_without_its_refund_is_a_problem(delivered):
    report, _ = reports.open_report(delivered, ReportReason.WRONG_PRODUCT)
    Report.update(status="refunded").where(Report.id == report.id).execute()
    assert problems() == ["refunded_report_without_refund"]


def test_a_free_re_run_costs_nothing_even_when_it_fails(delivered):
    report, _ = reports.open_report(delivered, ReportReason.TEXT_ARTEFACTS)
    resolution = reports.rerun(report.id, ADMIN, load_settings())
    rerun = resolution.job
    assert (rerun.price, rerun.parent_id, rerun.tier, rerun.aspect_ratio, rerun.photo_file_id) == (
        0, delivered.id, "fast", "9:16", "photo")
    assert credits.balance_of(SELLER) == 2 and problems() == []
    jobs.fail_job(rerun.id, Failure("generation_failed", "test"))
    assert credits.balance_of(SELLER) == 2 and problems() == []
    # and a free video can't be refunded
    Job.update(status="done").where(Job.id == rerun.id).execute()  # (as if it had been delivered)
    second, _ = reports.open_report(Job.get_by_id(rerun.id), ReportReason.BAD_QUALITY)
    with pytest.raises(reports.NothingToRefund):
        reports.refund(second.id, ADMIN)


def test_each_report_resolves_once_whoever_taps_first(delivered):
    report, _ = reports.open_report(delivered, ReportReason.BAD_QUALITY)
    settings = load_settings()
    outcomes, barrier = [], threading.Barrier(6)

    def tap(action):
        barrier.wait()
        outcomes.append(action())

    actions = [lambda: reports.refund(report.id, ADMIN), lambda: reports.rerun(report.id, ADMIN + 1, settings),
               lambda: reports.dismiss(report.id, ADMIN + 2)] * 2
    threads = [threading.Thread(target=tap, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(outcome.resolved for outcome in outcomes) == 1
    assert Job.select().where(Job.parent == delivered.id).count() == (1 if Report.get_by_id(report.id).status ==
                                                                      "rerun" else 0)
    assert problems() == []


def test_a_broadcast_is_confirmed_once_and_a_dead_bots_run_is_taken_over(database_url):
    register(SELLER, "en", welcome_credits=0)
    draft = broadcasts.draft(ADMIN, ADMIN, "Hello")
    assert broadcasts.confirm(draft.id, "bot-a").total == 1
    assert broadcasts.confirm(draft.id, "bot-b") is None and not broadcasts.cancel(draft.id)
    assert broadcasts.take_over("bot-b", stale_s=60) == []  # bot-a is alive
    Broadcast.update(heartbeat_at=utcnow() - dt.timedelta(seconds=120)).execute()
    [taken] = broadcasts.take_over("bot-b", stale_s=60)
    assert taken.runner == "bot-b"
    assert not broadcasts.save_progress(draft.id, "bot-a", SELLER, broadcasts.Counts(sent=1))  # bot-a must stop
    assert broadcasts.finish(draft.id, "bot-b", SELLER, broadcasts.Counts(sent=1))
    assert Broadcast.get_by_id(draft.id).status == "done"
