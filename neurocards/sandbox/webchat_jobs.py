"""The operator panel's read-only feed of recent jobs, from the project's own database.

The Telegram stand-in knows chats, not jobs: a job's state lives in the ``jobs`` table that the
bot and the worker write.  A :class:`JobFeed` binds the models to that database (as any
process of the stack does, with :func:`neurocards.db.init_database`) and reads it on one
thread of its own, never on the event loop, so a slow or locked database stalls the panel
and nothing else.  It only reads.

``neurocards sandbox`` makes one from the settings; tests make one for their stack's database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
from typing import Any

from peewee import PeeweeException

from ..db import forget_connection, init_database
from ..models import Job, LedgerEntry, LedgerKind, User

__all__ = ["JobFeed", "STAGE_TIMES"]

logger = logging.getLogger("neurocards.sandbox.webchat")

#: The stages a job goes through, each with the column that says when it got there.
STAGE_TIMES = {
    "created": "created_at", "enhancing": "enhancing_at", "generating": "generating_at",
    "downloading": "downloading_at", "delivering": "delivering_at", "done": "done_at", "failed": "failed_at",
}  # fmt: skip
#: How much of a job's product description the panel shows.
INFO_CHARS = 60


class JobFeed:
    """Recent jobs and a seller's balance, read on a thread of the feed's own.

    ``busy_timeout_s`` bounds how long a read waits for SQLite's lock; the panel asks again
    within a second anyway, so it is short.
    """

    def __init__(self, database_url: str, *, busy_timeout_s: float = 2.0) -> None:
        init_database(database_url, busy_timeout_s=busy_timeout_s)
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="webchat-jobs")

    async def recent(self, *, user_id: int | None = None, limit: int = 20) -> dict[str, Any]:
        """``{"jobs": [...], "balance": n or None}``, newest job first; ``{"error"}`` when the
        database cannot be read (not migrated yet, down)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._read, user_id, limit)

    def _read(self, user_id: int | None, limit: int) -> dict[str, Any]:
        try:
            query = Job.select().order_by(Job.created_at.desc()).limit(limit)
            if user_id is not None:
                query = query.where(Job.user == user_id)
            jobs = list(query)
            refunded = _refunded([job.id for job in jobs])
            seller = User.get_or_none(User.id == user_id) if user_id is not None else None
        except PeeweeException as exc:
            forget_connection()
            logger.warning("sandbox: web chat cannot read the jobs: %s", exc)
            return {"jobs": [], "balance": None, "error": f"{type(exc).__name__}: {exc}"}
        return {"jobs": [_job_view(job, job.id in refunded) for job in jobs],
                "balance": seller.balance if seller is not None else None}  # fmt: skip

    def close(self) -> None:
        """Drop the feed thread's connection and stop the thread."""
        try:
            self._thread.submit(forget_connection).result(10)
        finally:
            self._thread.shutdown(wait=True)


def _refunded(job_ids: list) -> set:
    """Which of these jobs had their credit given back (a refund row in the ledger)."""
    if not job_ids:
        return set()
    rows = LedgerEntry.select(LedgerEntry.job).where((LedgerEntry.kind == LedgerKind.REFUND)
                                                     & LedgerEntry.job.in_(job_ids))  # fmt: skip
    return {row.job_id for row in rows}


def _job_view(job: Job, refunded: bool) -> dict[str, Any]:
    info = job.product_info or ""
    return {
        "id": str(job.id),
        "user_id": job.user_id,
        "status": job.status,
        "product_info": info if len(info) <= INFO_CHARS else info[: INFO_CHARS - 1] + "…",
        "error_class": job.error_class or None,
        "refunded": refunded,
        "stages": {stage: _iso(getattr(job, column, None)) for stage, column in STAGE_TIMES.items()
                   if getattr(job, column, None) is not None},  # fmt: skip
        "updated_at": _iso(job.updated_at),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    """A naive UTC timestamp from the database as ISO 8601 with its zone, for the browser."""
    return None if moment is None else moment.replace(tzinfo=dt.UTC).isoformat()
