"""How long a job has left, for its status message (issue 14): "Filming… about 3
min left", and its place in the queue when there is one.

The estimate is measured, not promised: each stage's typical duration is the
median of that stage in the last ``eta.recent_jobs`` finished jobs of the same
KIE model (models film at different speeds), read from the jobs' own stage
timestamps — so it follows KIE as it speeds up or slows down, one finished job
at a time, with nothing kept anywhere but the jobs table (and, for
``eta.refresh_s``, in each process's memory).  Until a model has
finished a job, filming is assumed to take ``eta.default_filming_s``.

Time left = what the current stage usually takes minus what it has taken so
far (never below a tenth of its usual time: a late stage is still running) plus
the usual time of every stage after it.  ``tests/test_eta.py`` measures the
error against the sandbox KIE's stand-in timings.

The workers' ``show_status`` and the bot render the status message with
:func:`status_text`; both call it off the event loop (it reads the database).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
import time

from ..limits import fair_share
from ..models import Job, JobStatus, utcnow
from ..texts import text
from . import formats
from .status import status_text as status_line

__all__ = ["Estimate", "STAGES", "typical_stage_s", "queue_position", "estimate", "status_text", "time_left_text"]

#: The stages of a job that ends well, in order; each is timed from its stamp to the next one's.
STAGES = (JobStatus.CREATED, JobStatus.ENHANCING, JobStatus.GENERATING, JobStatus.DOWNLOADING, JobStatus.FINISHING,
          JobStatus.DELIVERING)
#: Typical seconds of the short stages before a model has history (filming: ``eta.default_filming_s``).
DEFAULT_STAGE_S = {JobStatus.CREATED: 2.0, JobStatus.ENHANCING: 10.0, JobStatus.DOWNLOADING: 10.0,
                   JobStatus.FINISHING: 5.0, JobStatus.DELIVERING: 5.0}
#: A stage past its usual duration is still given this share of it.
OVERDUE_SHARE = 0.1
#: The states in which the status message shows the estimate: the job waits or films.
SHOWN_WHILE = (JobStatus.CREATED, JobStatus.ENHANCING, JobStatus.GENERATING)

_STAMPS = {status: getattr(Job, f"{status}_at") for status in (*STAGES, JobStatus.DONE)}


@dataclasses.dataclass(frozen=True)
class Estimate:
    seconds_left: float
    position: int  # the job's place in the queue it waits in; 0 when it is not waiting behind anyone


#: This process's stage medians, per model and window: (due again at, medians).
_medians: dict[tuple, tuple[float, dict[JobStatus, float]]] = {}


def typical_stage_s(model: str, settings) -> dict[JobStatus, float]:
    """Each stage's median duration over the model's recent finished jobs
    (defaults where there is no history yet), worked out again at most every
    ``eta.refresh_s`` in a process: every status edit asks, and a median of
    minutes-long stages does not move in seconds."""
    refresh_s = settings.eta.refresh_s
    if refresh_s <= 0:
        return _stage_medians(model, settings)
    key = (model, settings.kie.model, settings.eta.recent_jobs, settings.eta.default_filming_s)
    cached = _medians.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    medians = _stage_medians(model, settings)
    _medians[key] = (time.monotonic() + refresh_s, medians)
    return medians


def _stage_medians(model: str, settings) -> dict[JobStatus, float]:
    recent = (
        Job.select(*_STAMPS.values())
        .where(_same_model(model, settings) & Job.done_at.is_null(False))
        .order_by(Job.done_at.desc())
        .limit(settings.eta.recent_jobs)
    )
    samples: dict[JobStatus, list[float]] = {stage: [] for stage in STAGES}
    order = (*STAGES, JobStatus.DONE)
    for job in recent:
        # each stage lasts until the next stage the job went through (jobs from
        # before a stage existed — finishing — have no stamp for it)
        stamps = [(stage, getattr(job, f"{stage}_at")) for stage in order]
        stamps = [(stage, at) for stage, at in stamps if at is not None]
        for (stage, entered), (_, left) in zip(stamps, stamps[1:]):
            samples[stage].append((left - entered).total_seconds())
    defaults = {**DEFAULT_STAGE_S, JobStatus.GENERATING: settings.eta.default_filming_s}
    return {stage: statistics.median(seconds) if seconds else defaults[stage] for stage, seconds in samples.items()}


def _same_model(model: str, settings):
    """Jobs made with ``model``; jobs from before models were recorded count as ``kie.model``'s."""
    if model == settings.kie.model:
        return Job.model.in_((model, ""))
    return Job.model == model


def queue_position(job: Job, settings) -> int:
    """1 + the jobs ahead of this one waiting for the same thing — a worker to take
    them up (``created``), or a KIE create slot (``generating`` with no task yet,
    in the order creates follow: :mod:`neurocards.limits.fair_share`); 0 when
    nobody is ahead of it or it is not waiting."""
    if job.status == JobStatus.CREATED and getattr(job, "batch_waiting", False):
        return 0  # waiting its turn in its batch (the status line says so), not for a worker
    if job.status == JobStatus.CREATED:
        ahead = Job.select().where((Job.status == JobStatus.CREATED) & (Job.created_at < job.created_at)
                                   & (Job.batch_waiting == False)).count()  # noqa: E712  (peewee's SQL)
    elif _waits_for_create(job):
        ahead = fair_share.place(job, settings)
    else:
        return 0
    return ahead + 1 if ahead else 0


def _waits_for_create(job: Job) -> bool:
    return job.status == JobStatus.GENERATING and not job.kie_task_id and job.generating_at is not None


def estimate(job: Job, settings, now: dt.datetime | None = None) -> Estimate | None:
    """Seconds left until the video is in the chat, and the queue position;
    None once the job no longer waits or films."""
    status = JobStatus(job.status)
    if status not in SHOWN_WHILE:
        return None
    typical = typical_stage_s(job.model or settings.kie.model, settings)
    position = queue_position(job, settings)
    later = sum(typical[stage] for stage in STAGES[STAGES.index(status) + 1:])
    if _waits_for_create(job) and position:  # filming starts once the jobs ahead are created
        rate = fair_share.creates_per_s(settings)
        wait_s = (position - 1) / rate if rate else 0.0
        return Estimate(seconds_left=wait_s + typical[status] + later, position=position)
    entered = getattr(job, f"{status}_at") or job.created_at
    elapsed = ((now or utcnow()) - entered).total_seconds()
    current = max(typical[status] - elapsed, OVERDUE_SHARE * typical[status])
    return Estimate(seconds_left=current + later, position=position)


def time_left_text(language: str, seconds_left: float) -> str:
    if seconds_left < 60:
        return text(language, "eta.under_minute")
    return text(language, "eta.minutes", minutes=max(1, round(seconds_left / 60)))


def status_text(job: Job, settings, now: dt.datetime | None = None) -> str:
    """The status message: the job's state, then — while it is on its way — what it
    is made in and what it cost, and — while it waits or films — the queue and the
    time left."""
    lines = [status_line(job)]
    if getattr(job, "batch_waiting", False):
        lines.append(text(job.language, "status.batch_waiting"))  # issue 21: behind the seller's other videos
    if getattr(job, "safety_retries", 0) and JobStatus(job.status) in (JobStatus.ENHANCING, JobStatus.GENERATING):
        lines.append(text(job.language, "status.safety_retry"))  # issue 21: a free retry after KIE refused
    if not JobStatus(job.status).final and job.price is not None:
        lines.append(formats.job_made_in(job.language, settings, job))
    found = estimate(job, settings, now)
    if found is not None:
        if found.position:
            lines.append(text(job.language, "eta.queue", position=found.position))
        lines.append(time_left_text(job.language, found.seconds_left))
    return "\n".join(lines)
