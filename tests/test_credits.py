import multiprocessing

import pytest

from neurocards.db import database
from neurocards.models import Job, LedgerEntry, User
from neurocards.money import credits
from neurocards.money.audit import audit
from neurocards.users import register
from tests.credit_race import debit_in_process
from tests.races import at_once


def new_user(user_id=1, balance=0):
    user, _ = register(user_id, "ru", welcome_credits=balance)
    return user


def new_job(user):
    return Job.create(user=user, chat_id=user.id, product_info="mug")


def test_welcome_is_granted_once(database_url):
    user, created = register(10, "en", welcome_credits=3)
    again, created_again = register(10, "en", welcome_credits=3)
    assert (created, created_again) == (True, False)
    assert User.get_by_id(10).balance == 3
    assert LedgerEntry.select().where(LedgerEntry.kind == "welcome").count() == 1
    assert audit()["ok"]


def test_debit_takes_the_price_and_a_replay_changes_nothing(database_url):
    user = new_user(balance=3)
    job = new_job(user)
    first = credits.debit_job(job, 1)
    second = credits.debit_job(job, 1)
    assert first.created and not second.created
    assert second.entry.id == first.entry.id
    assert User.get_by_id(user.id).balance == 2
    assert audit()["ok"]


def test_debit_never_takes_the_balance_below_zero(database_url):
    user = new_user(balance=1)
    job = new_job(user)
    with pytest.raises(credits.InsufficientCredits) as caught:
        credits.debit_job(job, 2)
    assert caught.value.balance == 1
    assert User.get_by_id(user.id).balance == 1
    assert LedgerEntry.select().where(LedgerEntry.kind == "debit").count() == 0


def test_refunding_the_same_job_twice_leaves_one_refund(database_url):
    user = new_user(balance=1)
    job = new_job(user)
    credits.debit_job(job, 1)
    job.status = "failed"
    job.save()
    assert credits.refund_job(job, "kie failed").created
    assert not credits.refund_job(job.id, "kie failed again").created
    assert LedgerEntry.select().where(LedgerEntry.kind == "refund").count() == 1
    assert User.get_by_id(user.id).balance == 1
    assert audit()["ok"]


def test_refund_without_a_debit_is_refused(database_url):
    job = new_job(new_user(balance=1))
    with pytest.raises(credits.NoDebit):
        credits.refund_job(job)
    assert User.get_by_id(job.user_id).balance == 1


def test_a_reused_key_for_another_movement_is_a_conflict(database_url):
    new_user(1, balance=0)
    new_user(2, balance=0)
    credits.grant(1, 5, "promo", key="grant:promo-1")
    with pytest.raises(credits.LedgerConflict):
        credits.grant(2, 5, "promo", key="grant:promo-1")
    assert User.get_by_id(2).balance == 0


def test_purchase_is_idempotent_on_the_payment(database_url):
    new_user(1)
    credits.purchase(1, 10, "charge-abc")
    credits.purchase(1, 10, "charge-abc")
    assert User.get_by_id(1).balance == 10


def test_a_negative_grant_never_goes_below_zero(database_url):
    new_user(1, balance=2)
    with pytest.raises(credits.InsufficientCredits):
        credits.grant(1, -3, "correction")
    credits.grant(1, -2, "correction")
    assert User.get_by_id(1).balance == 0
    assert audit()["ok"]


def test_twenty_threads_racing_for_one_credit(database_url):
    # Given a seller with 1 credit and 20 jobs
    user = new_user(balance=1)
    jobs = [new_job(user) for _ in range(20)]
    # When 20 threads debit at once
    outcomes = [getattr(outcome, "created", "refused") for outcome in
                at_once([lambda job=job: credits.debit_job(job, 1) for job in jobs],
                        expected=(credits.InsufficientCredits,))]

    # Then exactly one succeeds
    assert outcomes.count(True) == 1
    assert outcomes.count("refused") == 19
    assert User.get_by_id(user.id).balance == 0
    assert LedgerEntry.select().where(LedgerEntry.kind == "debit").count() == 1
    assert audit()["ok"]


def test_twenty_threads_debiting_the_same_job(database_url):
    user = new_user(balance=5)
    job = new_job(user)
    created = [movement.created for movement in at_once([lambda: credits.debit_job(job, 1)] * 20)]
    assert sorted(created) == [False] * 19 + [True]
    assert User.get_by_id(user.id).balance == 4


def test_four_processes_racing_for_one_credit(database_url):
    # Given a seller with 1 credit and 4 jobs
    user = new_user(balance=1)
    jobs = [str(new_job(user).id) for _ in range(4)]
    database.close()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    results = context.Queue()

    # When 4 processes debit at once
    processes = [
        context.Process(target=debit_in_process, args=(database_url, job_id, 1, barrier, results)) for job_id in jobs
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60)[0] for _ in processes]
    for process in processes:
        process.join(30)

    # Then exactly one succeeds
    assert sorted(outcomes) == ["debited", "refused", "refused", "refused"]
    assert User.get_by_id(user.id).balance == 0
    assert audit()["ok"]


def test_concurrent_first_contacts_register_once_with_the_grant_visible(database_url):
    # Given twenty first contacts of one seller at once (the bot and a webhook retry, say)
    seen = [user.balance for user, _ in at_once([lambda: register(42, "ru", welcome_credits=3)] * 20)]

    # Then every one of them sees the welcome credits, granted once
    assert seen == [3] * 20
    assert LedgerEntry.select().where(LedgerEntry.kind == "welcome").count() == 1
    assert audit()["ok"]
