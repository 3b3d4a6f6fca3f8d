"""The refund path never gives up (issue 15, item 5): with the database gone
while jobs are failing, every refund lands once it comes back — however many
tries that takes, and however old the ``fail_job`` message has grown.

PostgreSQL is stopped the way a service manager stops it (fast shutdown: every
connection cut) and started again; SQLite is made unwritable by a writer
holding its lock for longer than the workers' busy timeout.
"""

from __future__ import annotations

import pytest

from neurocards.models import Job, LedgerEntry, User
from neurocards.money.audit import audit
from neurocards.settings import load_settings
from tests.outage_fixtures import outage_stack
from tests.pipeline_fixtures import Seller
from tests.services import wait_until
from tests.stack import wait_for_status

JOBS = 3
#: The pipeline's retries in the test stack (FAST_SETTINGS): the refund path must outlast them.
PIPELINE_MAX_RETRIES = 3


@pytest.fixture(params=["sqlite", "postgres"], scope="module")
def outage(request, redis_server, tmp_path_factory):
    """A stack whose database this module may take away: (stack, take_away, bring_back)."""
    with outage_stack(request.param, redis_server, tmp_path_factory, generation_s=60) as stack_and_switches:
        yield stack_and_switches


def _failed_tries(log: str, job_id: str) -> int:
    """How many times the worker logged a ``fail_job`` of ``job_id`` failing."""
    return sum(1 for line in log.splitlines()
               if "Failed to process message fail_job(" in line and job_id in line)


def test_every_refund_lands_when_the_database_returns(outage):
    stack, take_away, bring_back = outage
    # Given jobs being filmed at KIE (60 s), their credits taken
    sellers = [Seller(stack) for _ in range(JOBS)]
    job_ids = [str(seller.start_job().id) for seller in sellers]
    for job_id in job_ids:
        wait_for_status(job_id, ("generating",))
    wait_until(lambda: all(Job.get_by_id(job_id).kie_task_id for job_id in job_ids), what="every KIE task")

    # When the database goes away: each job's polls fail until they give up, and
    # its fail_job fails again and again, far past the pipeline's retry budget
    take_away()
    try:
        wait_until(lambda: all(_failed_tries(stack.log(), job_id) > PIPELINE_MAX_RETRIES + 1 for job_id in job_ids),
                   timeout=90, interval=0.5, what="fail_job to outlast the pipeline's retries")
    finally:
        bring_back()

    # Then, once it is back, every job fails with exactly one refund and its seller is told
    for job_id in job_ids:
        job = wait_for_status(job_id, ("failed",), timeout=60)
        assert job.error_class == "database"
    for seller, job_id in zip(sellers, job_ids):
        refunds = LedgerEntry.select().where((LedgerEntry.job == job_id) & (LedgerEntry.kind == "refund"))
        assert [entry.amount for entry in refunds] == [1]
        assert User.get_by_id(seller.id).balance == 1
        seller.wait_for_text(seller_text("failure.busy", seller.language))
    report = audit()
    assert report["ok"], report["problems"]


def seller_text(key: str, language: str) -> str:
    from neurocards.texts import text

    return text(language, key, support=load_settings().telegram.support_contact)
