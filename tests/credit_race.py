"""Run in child processes by the credit race tests: debit a job, report the outcome."""

from neurocards.db import close_database, init_database
from neurocards.models import Job
from neurocards.money import credits


def debit_in_process(url: str, job_id: str, price: int, barrier, results) -> None:
    init_database(url)
    job = Job.get_by_id(job_id)
    barrier.wait()
    try:
        movement = credits.debit_job(job, price)
        results.put(("debited" if movement.created else "replayed", job_id))
    except credits.InsufficientCredits:
        results.put(("refused", job_id))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(("error", repr(exc)))
    finally:
        close_database()


def pay_in_process(url: str, user_id: int, charge_id: str, payload: str, credits_: int, stars: int, barrier,
                   results) -> None:
    """One bot instance handling a successful_payment update: record it, report the outcome."""
    from neurocards.money import payments
    from neurocards.money.invoices import Invoice

    init_database(url)
    barrier.wait()
    try:
        recorded = payments.record_payment(
            user_id=user_id, charge_id=charge_id, provider_charge_id="", payload=payload, currency="XTR",
            stars=stars, invoice=Invoice(user_id, credits_, stars, 0, "n"),
        )
        results.put(("recorded" if recorded.created else "replayed", charge_id))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(("error", repr(exc)))
    finally:
        close_database()
