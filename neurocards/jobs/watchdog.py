"""The watchdog: every paid job ends, even when its messages are lost (DESIGN §12).

The database is the source of truth; broker messages are how work moves, and a
message can be lost — Redis restarted empty or flushed, a fail-over to a replica
that lagged, the bot crashing between committing a job and enqueueing it.  Every
``watchdog.period_s`` the watchdog, driven from the database alone, finds jobs
that made no progress (no write: ``updated_at``) for longer than their state
allows (``watchdog.<state>_s``) and moves each on:

- :func:`plan` decides: the state's message again — ``enhance_prompt`` for a job
  created or enhancing, ``poll_generation(job, poll_count)`` for a job generating
  at KIE (its existing task: never a second one), ``submit_generation`` for one
  generating without a task, ``download_video``, ``deliver_video``; or, past the
  job's overall deadline (``watchdog.deadline_s``), fail it with its refund —
  unless its video is in the chat already (:mod:`neurocards.jobs.sent_videos`), when
  ``deliver_video`` records the delivery instead.  A
  failed job whose seller was never told gets ``notify_failure`` again.  Claims
  (``submit_claim``, ``send_claim``, ``notice_claim``) of a stuck job are cleared:
  their holders' messages are gone, or they would have written since.
- :func:`rescue` does it: marks the job (:func:`jobs.take_for_rescue` stamps
  ``updated_at``, so it is not rescued again before its limit passes once more)
  and sends the message; or fails it (:func:`jobs.fail_stuck`, refund in the
  same transaction) and has the seller told.  Every actor is idempotent, so a
  message sent again for a job that was only slow changes nothing.
- :func:`run` is the loop: one active watchdog at a time, by a lease in the
  database (:mod:`neurocards.leases`; not Redis, which may have just lost
  everything); a pass that fails (the database or Redis away) is logged and
  tried again next period.  It returns soon after ``stop`` is set.

Each rescue is a WARNING line with the job id, and counts in
``neurocards_watchdog_rescues_total{stage,action}``
(:mod:`neurocards.jobs.watchdog_metrics`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from peewee import fn

from .. import leases
from ..db import forget_connection
from ..dispatch import ActorName
from ..errors import Failure, Kind
from ..limits import kie_balance
from ..logs import job_logger
from ..models import ACTIVE_STATUSES, Job, JobStatus, User, utcnow
from . import formats, sent_videos
from . import state_machine as jobs
from .state_machine import Claim

if TYPE_CHECKING:
    from .watchdog_metrics import WatchdogMetrics

__all__ = ["Rescue", "plan", "stuck_jobs", "idle_batches", "unnotified_failures", "rescue", "run_pass", "run",
           "read_kie_balance", "watch_kie_failures", "LEASE_NAME", "ACTIONS"]

logger = logging.getLogger("neurocards.watchdog")

#: The lease the active watchdog holds.
LEASE_NAME = "watchdog"

#: What a rescue does: send the state's message again, fail the job (deadline), tell the seller again.
ACTIONS = ("resend", "fail", "notify")

#: Each active state's message, sent again for a stuck job (``generating`` depends on its task).
RESEND = {
    JobStatus.CREATED: ActorName.ENHANCE_PROMPT,
    JobStatus.ENHANCING: ActorName.ENHANCE_PROMPT,
    JobStatus.DOWNLOADING: ActorName.DOWNLOAD_VIDEO,
    JobStatus.FINISHING: ActorName.FINISH_VIDEO,
    JobStatus.DELIVERING: ActorName.DELIVER_VIDEO,
}

#: The error class of a job failed past its deadline (the seller reads "busy, try again").
DEADLINE_ERROR_CLASS = "expired"


@dataclasses.dataclass(frozen=True)
class Rescue:
    """What to do with one stuck job."""

    action: str  # one of ACTIONS
    actor: ActorName | None = None  # the message to send (a failed job's notice is sent after failing it)
    args: tuple = ()
    clear: tuple[Claim, ...] = ()  # claims whose holders are gone

    def describe(self) -> str:
        if self.action == "fail":
            return "past its deadline: failed, credit refunded, seller told"
        call = f"{self.actor}({', '.join(str(arg) for arg in self.args)})"
        cleared = f", cleared {', '.join(claim.value for claim in self.clear)}" if self.clear else ""
        told = "seller never told: " if self.action == "notify" else ""
        return f"{told}{call} sent again{cleared}"


def plan(job: Job, settings, now: dt.datetime) -> Rescue:
    """What to do with ``job``, found stuck (``settings``: the ``[watchdog]`` section)."""
    status = JobStatus(job.status)
    job_id = str(job.id)
    if status is JobStatus.FAILED:
        return Rescue("notify", ActorName.NOTIFY_FAILURE, (job_id,), (Claim.NOTICE,))
    if (now - job.created_at).total_seconds() > settings.deadline_s:
        return Rescue("fail")
    if status is JobStatus.GENERATING and job.kie_task_id:  # poll the task it has
        return Rescue("resend", ActorName.POLL_GENERATION, (job_id, job.poll_count))
    if status is JobStatus.GENERATING:
        return Rescue("resend", ActorName.SUBMIT_GENERATION, (job_id,), (Claim.SUBMIT,))
    clear = (Claim.SEND,) if status is JobStatus.DELIVERING else ()
    return Rescue("resend", RESEND[status], (job_id,), clear)


def stuck_jobs(settings, now: dt.datetime) -> Iterator[Job]:
    """Jobs in an active state, unwritten for longer than that state allows; the
    longest-stuck first, at most ``settings.batch`` per state.

    A generating job waits for KIE between scheduled polls, as long apart as
    ``kie.poll_with_callbacks_s`` with callbacks on: its clock starts when its
    next poll is due (``next_poll_at``, written with each poll), not at its last
    write, so a job waiting for a poll on time is never taken for stuck."""
    for status in ACTIVE_STATUSES:
        cutoff = now - dt.timedelta(seconds=settings.stale_after_s(status))
        since = Job.updated_at
        if status is JobStatus.GENERATING:
            since = fn.COALESCE(Job.next_poll_at, Job.updated_at)
        waits_its_turn = Job.batch_waiting & (Job.created_at > now - dt.timedelta(seconds=settings.batch_wait_s))
        yield from (Job.select()
                    .where((Job.status == status) & (since < cutoff) & ~waits_its_turn)
                    .order_by(since)
                    .limit(settings.batch))


def idle_batches(settings, now: dt.datetime) -> list[int]:
    """Batches with jobs waiting their turn that nobody let go for ``created_s``: their
    launch message lost, or their last job ended where no launch was sent (a paid
    job waits no longer than ``batch_wait_s``: past it, :func:`stuck_jobs` has it)."""
    cutoff = now - dt.timedelta(seconds=settings.created_s)
    rows = (Job.select(Job.batch).distinct()
            .where((Job.status == JobStatus.CREATED) & Job.batch_waiting & (Job.updated_at < cutoff))
            .limit(settings.batch))
    return [row.batch for row in rows]


def unnotified_failures(settings, now: dt.datetime) -> Iterator[Job]:
    """Failed jobs whose seller was not told for ``unnotified_s``, failed within
    ``notify_within_s`` (nobody is told about a failure of last month), and whose
    seller has not blocked the bot."""
    unwritten = now - dt.timedelta(seconds=settings.unnotified_s)
    recent = now - dt.timedelta(seconds=settings.notify_within_s)
    untold = (Job.status == JobStatus.FAILED) & Job.failure_notified_at.is_null()
    reachable = User.blocked == False  # noqa: E712  (peewee builds SQL from ==)
    return iter(Job.select(Job)
                .join(User)
                .where(untold & (Job.updated_at < unwritten) & (Job.failed_at > recent) & reachable)
                .order_by(Job.updated_at)
                .limit(settings.batch))


def rescue(context, job: Job, what: Rescue, now: dt.datetime, metrics: WatchdogMetrics | None = None) -> bool:
    """Carry ``what`` out on ``job``; False when the job moved since it was found
    (nothing done).  A send that fails raises, after the job was marked: it is
    found again when its limit passes once more."""
    log = job_logger(job.id, logger.name)
    stuck_s = (now - job.updated_at).total_seconds()
    if what.action == "fail" and sent_videos.find(context.redis, job.id) is not None:
        # past its deadline, but its video is in the chat (its delivery died recording
        # it): deliver_video records the delivery; nothing is refunded
        what = Rescue("resend", ActorName.DELIVER_VIDEO, (str(job.id),), (Claim.SEND,))
    if what.action == "fail":
        detail = f"no progress in {job.status} for {stuck_s:.0f} s, past the job's deadline (watchdog)"
        refund = jobs.fail_stuck(job.id, JobStatus(job.status), job.updated_at,
                                 Failure(Kind.SYSTEM, DEADLINE_ERROR_CLASS, detail))
        if refund is None:
            return False
        log.warning("watchdog: stuck in %s for %.0f s, %s", job.status, stuck_s, what.describe())
        if metrics is not None:
            metrics.failed(jobs.get_job(job.id), refund.amount)
        context.send(ActorName.NOTIFY_FAILURE, str(job.id))  # if this fails, unnotified_failures tells later
        if job.batch is not None:  # one of a batch: the next may start, the summary moves on
            context.send(ActorName.LAUNCH_BATCH, job.batch)
            context.send(ActorName.SHOW_BATCH, job.batch)
    else:
        if not jobs.take_for_rescue(job.id, JobStatus(job.status), job.updated_at, what.clear):
            return False
        context.send(what.actor, *what.args)
        log.warning("watchdog: stuck in %s for %.0f s, %s", job.status, stuck_s, what.describe())
    if metrics is not None:
        metrics.rescued(job.status, what.action)
    return True


def run_pass(context, metrics: WatchdogMetrics | None = None) -> int:
    """Find every stuck job and rescue it; the number rescued."""
    settings = context.settings.watchdog
    context.broker.client.ping()  # nothing can be sent without Redis: wait for it rather than mark jobs in vain
    now = utcnow()
    rescued = 0
    for job in (*stuck_jobs(settings, now), *unnotified_failures(settings, now)):
        rescued += rescue(context, job, plan(job, settings, now), now, metrics)
    for batch_id in idle_batches(settings, now):  # looked at again; not a rescue (waiting is normal)
        logger.info("watchdog: batch %s has jobs waiting that nobody let go; launching", batch_id)
        context.send(ActorName.LAUNCH_BATCH, batch_id)
    return rescued


def run(context, stop: threading.Event, metrics: WatchdogMetrics | None = None) -> None:
    """Every ``watchdog.period_s``, take (or renew) the lease and, holding it, make a
    pass; until ``stop`` is set.  The lease is given up on the way out."""
    settings = context.settings.watchdog
    holder = leases.holder_id()
    leading: bool | None = None  # not known yet: the first answer is logged either way
    balance_due = 0.0
    while not stop.is_set():
        try:
            leading = _lead(holder, settings.lease_s, leading, metrics)
            if leading and time.monotonic() >= balance_due:
                balance_due = time.monotonic() + context.settings.kie.balance_period_s
                read_kie_balance(context, metrics)
                watch_kie_failures(context, metrics)
            if leading:
                run_pass(context, metrics)
        except Exception as exc:  # the database or Redis away: try again next period
            logger.warning("watchdog: pass failed (%s: %s); trying again in %.0f s", type(exc).__name__,
                           str(exc).splitlines()[0] if str(exc) else "", settings.period_s)
            forget_connection()
        stop.wait(settings.period_s)
    if leading:
        try:
            leases.release(LEASE_NAME, holder)
        except Exception:
            logger.warning("watchdog: could not give the lease up; it expires by itself", exc_info=True)
    logger.info("watchdog: stopped")


def read_kie_balance(context, metrics: WatchdogMetrics | None = None) -> float | None:
    """Read KIE's balance for every process (:mod:`neurocards.limits.kie_balance`);
    export it, what the work in flight needs, and which tiers it closes."""
    settings = context.settings
    balances = []
    for key in context.kie_keys.fingerprints:  # keys may be separate accounts: the best one decides
        try:
            balances.append(context.kie_keys.client(key).get_credit())
        except Exception as exc:  # KIE away, or this key refused: the others may answer
            logger.warning("watchdog: KIE's balance could not be read with key %s (%s)", key, type(exc).__name__)
    if not balances:  # the breaker goes stale and closes nothing
        return None
    balance = max(balances)
    kie_balance.record(context.redis, balance)
    if metrics is not None:
        price = settings.economics.kie_credits(settings.kie.model) or 0.0
        in_flight = Job.select().where(Job.status.in_([JobStatus.CREATED, JobStatus.ENHANCING,
                                                       JobStatus.GENERATING])).count()
        last_hour = Job.select().where(Job.created_at >= utcnow() - dt.timedelta(hours=1)).count()
        metrics.kie_balance.set(balance)
        metrics.kie_balance_needed.set((in_flight + last_hour) * price)
    return balance


#: How a job that failed at KIE itself ends (not the seller's photo, not our delivery).
#: (An empty account, 402, is the balance's to close; a refused key, 401/433, is the key pool's to park.)
KIE_FAILURES = ("generation_failed", "generation_timeout", "kie_rejected", "upstream_unavailable")
#: The states a job reaches only once KIE made its video.
PAST_KIE = (JobStatus.DOWNLOADING, JobStatus.FINISHING, JobStatus.DELIVERING, JobStatus.DONE)


def watch_kie_failures(context, metrics: WatchdogMetrics | None = None) -> list[str]:
    """Trip every model whose recent tasks fail at KIE too often (:mod:`neurocards.limits.kie_balance`);
    export which tiers are closed.  The models tripped now."""
    settings, kie, now = context.settings, context.settings.kie, time.time()
    tripped_now = []
    for tier in formats.tiers(settings):
        if kie_balance.tripped(context.redis, tier.model):
            continue
        since = max(now - kie.breaker_window_s, kie_balance.counting_since(context.redis, tier.model))
        model = (Job.model == tier.model) | (Job.model == "") if tier.model == kie.model else Job.model == tier.model
        recent = Job.select().where(
            model & (Job.kie_submitted_at >= dt.datetime.fromtimestamp(since, dt.UTC).replace(tzinfo=None)))
        failed = recent.where((Job.status == JobStatus.FAILED) & Job.error_class.in_(KIE_FAILURES)).count()
        ended = failed + recent.where(Job.status.in_(PAST_KIE)).count()
        if ended >= kie.breaker_min_jobs and failed / ended >= kie.breaker_failure_rate:
            logger.error("watchdog: %d of the last %d tasks of %s failed at KIE: tier %s closed for %.0f s",
                         failed, ended, tier.model, tier.name, kie.breaker_cooldown_s)
            kie_balance.trip(context.redis, tier.model, kie.breaker_cooldown_s, now)
            tripped_now.append(tier.model)
    if metrics is not None:
        balance = kie_balance.read(context.redis, settings)
        for tier in formats.tiers(settings):
            closed = kie_balance.tripped(context.redis, tier.model) or kie_balance.closed(balance, settings, tier.model)
            metrics.tier_closed.labels(tier.name).set(1 if closed else 0)
    return tripped_now


def _lead(holder: str, lease_s: float, leading: bool | None, metrics: WatchdogMetrics | None) -> bool:
    """Take or renew the lease; log and count a change of hands."""
    now_leading = leases.acquire(LEASE_NAME, holder, lease_s)
    if now_leading != leading:
        logger.info("watchdog: %s", "active (holding the lease)" if now_leading
                    else "standing by (another watchdog holds the lease)")
    if metrics is not None:
        metrics.leader.set(1 if now_leading else 0)
    return now_leading

