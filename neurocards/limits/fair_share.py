"""Fair share of KIE's create budget across sellers (issue 22).

When more jobs wait for a create than KIE's windows let through at once, they
are created in the *fair order*, not in whatever order their messages come
back: round-robin across sellers, so one seller's fifty jobs never hold back
everyone else's first.  The order, over the jobs waiting for a create
(``generating``, no task yet):

1. the paying sellers' lane first, when ``kie.paid_lane`` is on (a seller with a
   Stars payment not refunded);
2. the round: a seller's oldest waiting job is in round 0, their next in
   round 1, and so on;
3. within a round, the seller served least recently first (their last KIE
   create; a seller never served comes before any other);
4. then the job's own arrival (``generating_at``).

:func:`turn` tells ``submit_generation`` whether a job may try for a create
slot now: those within the first :func:`window` of the order (as many as KIE
lets through in one window, over every key) compete for the slots the limiter
grants exactly; a job further back comes again when the jobs ahead of it
should have been created.  The status message's queue position and time left
come from the same order (:func:`place`), so what a seller is told is the
order creates follow.

The order is worked out from the jobs table, at most every :data:`ORDER_TTL_S`
in a process (a job not in the one worked out makes it worked out again), and
only when more jobs wait than the window holds: below that, every waiting job
competes, as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import uuid

from peewee import fn

from ..models import Job, JobStatus, Payment, PaymentStatus

__all__ = ["Turn", "window", "creates_per_s", "fair_order", "place", "turn"]

#: How long a process reuses the fair order it worked out.
ORDER_TTL_S = 0.5
#: A job behind the window comes back after at least / at most this long.
SHORTEST_WAIT_S, LONGEST_WAIT_S = 0.2, 30.0
#: Before any create (a seller never served).
NEVER = dt.datetime(1970, 1, 1)


@dataclasses.dataclass(frozen=True)
class Turn:
    """Where a job waiting for a create stands: ``ahead`` jobs before it in the
    fair order; it may try for a slot when ``wait_s`` is 0."""

    ahead: int
    wait_s: float = 0.0


def keys_of(settings) -> int:
    return max(1, len(settings.kie_api_keys))


def window(settings) -> int:
    """How many waiting jobs compete for slots at once: one KIE window's creates, over every key."""
    return max(1, settings.kie.create_limit) * keys_of(settings)


def creates_per_s(settings) -> float:
    """The sustained create rate over every key (0: no limit)."""
    if settings.kie.create_limit <= 0:
        return 0.0
    return settings.kie.create_limit * keys_of(settings) / (settings.kie.create_window_s + settings.kie.rate_margin_s)


def _waiting():
    return (Job.status == JobStatus.GENERATING) & (Job.kie_task_id == "")


def fair_order(paid_lane: bool = False) -> list[uuid.UUID]:
    """The ids of every job waiting for a create, in the fair order."""
    rows = list(Job.select(Job.id, Job.user, Job.generating_at).where(_waiting()).tuples())
    if not rows:
        return []
    served = _last_served()
    paying = _paying() if paid_lane else set()
    rows.sort(key=lambda row: (row[2] or NEVER, str(row[0])))
    rounds: dict[int, int] = {}
    keyed = []
    for job_id, user, arrived in rows:  # oldest first: each seller's jobs numbered into rounds
        number = rounds.get(user, 0)
        rounds[user] = number + 1
        keyed.append(((user not in paying, number, served.get(user) or NEVER, arrived or NEVER, str(job_id)), job_id))
    keyed.sort(key=lambda pair: pair[0])
    return [job_id for _, job_id in keyed]


def _waiting_sellers():
    return Job.select(Job.user).where(_waiting())


def _last_served() -> dict[int, dt.datetime]:
    """When each seller with a job waiting last had a task created at KIE."""
    query = (Job.select(Job.user, fn.MAX(Job.kie_submitted_at))
             .where(Job.user.in_(_waiting_sellers()) & Job.kie_submitted_at.is_null(False))
             .group_by(Job.user))
    return {user: _naive(last) for user, last in query.tuples()}


def _naive(value) -> dt.datetime | None:
    """SQLite hands back MAX() of a datetime column as text."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=None) if value is not None else None


def _paying() -> set[int]:
    """The sellers with a job waiting who paid with Stars (a payment not refunded)."""
    query = (Payment.select(Payment.user)
             .where(Payment.user.in_(_waiting_sellers()) & (Payment.status == PaymentStatus.PAID)).distinct())
    return {user for (user,) in query.tuples()}


class _Order:
    """This process's fair order, worked out again at most every :data:`ORDER_TTL_S`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due = 0.0
        self._key: tuple = ()
        self._ranks: dict[uuid.UUID, int] = {}

    def rank(self, job_id: uuid.UUID, paid_lane: bool) -> int | None:
        with self._lock:
            fresh = time.monotonic() < self._due and self._key == (paid_lane,)
            if not fresh or job_id not in self._ranks:
                self._ranks = {found: n for n, found in enumerate(fair_order(paid_lane))}
                self._due, self._key = time.monotonic() + ORDER_TTL_S, (paid_lane,)
            return self._ranks.get(job_id)


_order = _Order()


def _crowded(settings) -> bool:
    return Job.select().where(_waiting()).limit(window(settings) + 1).count() > window(settings)


def place(job: Job, settings) -> int:
    """How many jobs are ahead of ``job`` in the fair order (0 when it is not waiting for a create)."""
    if job.status != JobStatus.GENERATING or job.kie_task_id:
        return 0
    rank = _order.rank(job.id, settings.kie.paid_lane) if settings.kie.fair_share else None
    if rank is not None:
        return rank
    return (Job.select().where(_waiting() & (Job.generating_at < job.generating_at)).count()
            if job.generating_at is not None else 0)  # fair share off: the order of arrival


def turn(job: Job, settings) -> Turn:
    """Whether ``job`` may try for a create slot now, and if not, when to look again."""
    if not settings.kie.fair_share or settings.kie.create_limit <= 0 or not _crowded(settings):
        return Turn(0)
    rank = _order.rank(job.id, settings.kie.paid_lane)
    if rank is None:  # no longer waiting (created meanwhile, or moved on)
        return Turn(0)
    room = window(settings)
    if rank < room:
        return Turn(rank)
    wait_s = (rank - room + 1) / creates_per_s(settings)
    return Turn(rank, min(LONGEST_WAIT_S, max(SHORTEST_WAIT_S, wait_s)))
