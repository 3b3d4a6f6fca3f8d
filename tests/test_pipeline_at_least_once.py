"""Dramatiq delivers at least once: duplicates, crashes and racing failures
must never cost a second video, a second debit or a second refund."""

import threading


from neurocards.errors import Failure, Kind
from neurocards.jobs import fail_job
from neurocards.models import Job, LedgerEntry
from neurocards.texts import text
from tests.pipeline_fixtures import Seller, fresh, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final, wait_for_status

#: The worker of this module enqueues every pipeline message twice.
WORKER_MODULE = "tests.duplicating_actors"


def videos(seller):
    return [e for e in seller.transcript()["events"] if e["type"] == "bot_message" and e.get("video")]


def ledger(job, kind):
    return LedgerEntry.select().where((LedgerEntry.job == job.id) & (LedgerEntry.kind == kind)).count()


def test_every_message_delivered_twice_still_gives_one_video(stack):
    seller = Seller(stack)

    job = wait_for_final(seller.start_job().id)

    assert job.status == "done"
    assert len(videos(seller)) == 1
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 1
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)


def test_a_failure_delivered_twice_refunds_once_and_says_so_once(stack):
    seller = Seller(stack)
    stack.fault("kie", "content_policy", params={"stage": "task"})

    job = wait_for_final(seller.start_job().id)

    assert job.error_class == "content_policy"
    assert ledger(job, "refund") == 1
    failure = seller.wait_for_text(text("en", "failure.content_policy"))
    assert failure
    bot_texts = [e.get("text") for e in seller.transcript()["events"] if e["type"] == "bot_message"]
    assert bot_texts.count(failure["text"]) == 1


def test_the_same_failure_driven_twice_concurrently_refunds_once(stack):
    # Given a job in flight (held at generation: the task never finishes)
    seller = Seller(stack)
    stack.fault("kie", "never_finishes")
    job = wait_for_status(seller.start_job().id, ("generating",))

    # When two workers fail it at the same moment
    barrier = threading.Barrier(2)
    outcomes = []

    def fail():
        barrier.wait()
        outcomes.append(fail_job(job.id, Failure(Kind.SYSTEM, "timeout", "test")))

    threads = [threading.Thread(target=fail) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one refunds
    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert ledger(job, "refund") == 1
    assert Job.get_by_id(job.id).status == "failed"
