"""Run in child processes by the credit race tests: debit a job, report the outcome."""

from neurocards import credits
from neurocards.db import close_database, init_database
from neurocards.models import Job


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
