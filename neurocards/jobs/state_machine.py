"""The job state machine (DESIGN §5); it knows nothing about HTTP.

    created -> enhancing -> generating -> downloading -> delivering -> done
    any non-final state -> failed (refund once)

Every move is a conditional update (``WHERE id = ? AND status = ?``) that also
records ``moved_by_message``, the id of the message that made it.  Dramatiq delivers
at least once, so an actor that finds the job already moved *by its own
message* knows it was interrupted after the update and before sending the next
message, and sends it again; a job moved by any other message is left alone.

``updated_at`` is stamped by every write here (claims included): it is a job's
last sign of life, which the watchdog (:mod:`neurocards.jobs.watchdog`) reads to
find jobs whose messages were lost, and marks with :func:`take_for_rescue`.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
import uuid
from collections.abc import Sequence

from ..db import database, is_postgres
from ..errors import Failure
from ..models import (
    ACTIVE_STATUSES,
    Job,
    JobStatus,
    LedgerKind,
    User,
    stage_durations,
    stage_stamps,
    stamp_column,
    utcnow,
)
from ..money import credits
from . import photos

__all__ = [
    "TooManyJobsInFlight",
    "SendInFlight",
    "Claim",
    "start_job",
    "get_job",
    "advance",
    "update_in_state",
    "claim",
    "release",
    "fail_job",
    "fail_stuck",
    "undo_failure",
    "take_for_rescue",
    "mark_failure_notified",
    "set_status_message",
    "jobs_in_flight",
    "recent_jobs",
    "stage_stamps",
    "stage_durations",
    "uploaded_image",
    "remember_upload",
    "forget_upload",
]


class Claim(enum.StrEnum):
    """Outside effects that must happen once per job, each with its claim column."""

    SUBMIT = "submit_claim"  # creating the KIE task
    SEND = "send_claim"  # sending the video
    NOTICE = "notice_claim"  # sending the failure message


class SendInFlight(Exception):
    """The job's video is being sent (its send claim is held): it is not failed
    now — the sender decides, and whoever wanted to fail it looks again later."""


class TooManyJobsInFlight(Exception):
    def __init__(self, in_flight: int, limit: int) -> None:
        super().__init__(f"{in_flight} jobs in flight (limit {limit})")
        self.in_flight = in_flight
        self.limit = limit


def get_job(job_id) -> Job | None:
    try:
        job_uuid = uuid.UUID(str(job_id))
    except ValueError:
        return None
    sql, params, columns = _get_job_query()
    row = database.execute_sql(sql, (Job.id.db_value(job_uuid), *params)).fetchone()
    if row is None:
        return None
    job = Job(__no_default__=1)  # as peewee's own cursor wrapper builds a row's model
    job.__data__ = {name: python_value(value) for (name, python_value), value in zip(columns, row)}
    job._dirty.clear()
    return job


#: The query of :func:`get_job`, per database: every actor reads its job at
#: least once, and peewee would otherwise compose the same 40-column SELECT, and
#: work out how to read its columns, every time (several times the cost of
#: running it).
_get_job_query_cache: dict[type, tuple[str, list, list]] = {}


def _get_job_query() -> tuple[str, list, list]:
    """``SELECT <every column of jobs> FROM jobs WHERE id = ? LIMIT 1`` for the
    database the models are bound to now (its class: the SQL dialect), its
    parameters after the id, and each selected column's field name and
    converter (peewee selects a model's ``sorted_fields``, in order)."""
    key = type(database.obj)
    cached = _get_job_query_cache.get(key)
    if cached is None:
        sql, params = Job.select().where(Job.id == uuid.UUID(int=0)).limit(1).sql()
        columns = [(field.name, field.python_value) for field in Job._meta.sorted_fields]
        cached = _get_job_query_cache[key] = (sql, params[1:], columns)
    return cached


def jobs_in_flight(user_id: int) -> int:
    """The seller's jobs running now; a batch's jobs waiting their turn don't count (they are
    let go within the same cap: :mod:`neurocards.jobs.batches`)."""
    return Job.select().where((Job.user == user_id) & Job.status.in_(ACTIVE_STATUSES)
                              & (Job.batch_waiting == False)).count()  # noqa: E712  (peewee's SQL)


def recent_jobs(user_id: int, limit: int) -> list[Job]:
    """The seller's latest jobs, newest first."""
    return list(Job.select().where(Job.user == user_id).order_by(Job.created_at.desc()).limit(limit))


def prompt_fields(written) -> dict:
    """A job's columns for a prompt written before its charge (``Written``): the
    prompt and its token counts; none when the pipeline is to write it."""
    if written is None:
        return {}
    return {"prompt": written.prompt, "openai_input_tokens": written.input_tokens,
            "openai_output_tokens": written.output_tokens}


def start_job(
    *,
    user_id: int,
    chat_id: int,
    product_info: str,
    language: str,
    price: int,
    max_in_flight: int,
    photo_path: str = "",
    photo_file_id: str = "",
    parent: Job | None = None,
    job_id: uuid.UUID | None = None,
    tier: str = "",
    model: str = "",
    aspect_ratio: str = "",
    preset: str = "",
    debit_reason: str = "",
    refinish: bool = False,
    more_photos: Sequence[photos.Photo] = (),
    style: str = "",
    brief: str = "",
    written=None,
) -> tuple[Job, bool]:
    """Create a job and debit its price in one transaction; return it and
    whether this call created it.

    Raises :class:`credits.InsufficientCredits` or :class:`TooManyJobsInFlight`
    with nothing written.  ``job_id`` makes a retried start idempotent: the
    job already created under that id is returned as it is.  The job records
    what it is made in (``tier``, ``model``, ``aspect_ratio``: see
    :mod:`neurocards.jobs.formats`) and the ``price`` debited — 0 for an operator's
    free re-run, whose zero debit still marks the job's ledger trail, with
    ``debit_reason`` saying who and why.

    ``more_photos`` are the product's photos after the first (:mod:`.photos`);
    a job with a ``parent`` has the parent's instead.  ``style`` and ``brief``
    are what its prompt is written in (a style's name, an idea picked);
    ``written`` its prompt, written before the charge (``prompt``, token counts).

    ``refinish`` makes the job from ``parent``'s clip as it is ("Another
    format" of a delivered video): it starts in ``finishing`` with the parent's
    prompt, KIE task and raw clip, and no new KIE task is ever made for it.
    """
    job_id = job_id or uuid.uuid4()
    with database.atomic():
        existing = Job.get_or_none(Job.id == job_id)
        if existing is not None:
            return existing, False
        if is_postgres():  # serialise a seller's starts; SQLite's write lock already does
            User.select(User.id).where(User.id == user_id).for_update().execute()
        in_flight = jobs_in_flight(user_id)
        if in_flight >= max_in_flight:
            raise TooManyJobsInFlight(in_flight, max_in_flight)
        job = Job.create(
            id=job_id,
            user=user_id,
            chat_id=chat_id,
            product_info=product_info,
            language=language,
            photo_path=photo_path,
            photo_file_id=photo_file_id,
            parent=parent,
            callback_secret=secrets.token_urlsafe(24),
            tier=tier,
            model=model,
            aspect_ratio=aspect_ratio,
            preset=preset,
            price=price,
            style=style,
            brief=brief,
            **prompt_fields(written),
            photo_count=parent.photo_count if parent is not None else 1 + len(more_photos[: photos.MAX_PHOTOS - 1]),
            **(_refinished_from(parent) if refinish else {}),
            **(_uploaded_from(parent) if parent is not None else {}),
        )
        if parent is not None:
            photos.copy(parent, job)
        else:
            photos.add(job, more_photos)
        if debit_reason:
            credits.move(user_id, -price, LedgerKind.DEBIT, f"debit:{job.id}", job=job, reason=debit_reason)
        else:
            credits.debit_job(job, price)
    return job, True


def _uploaded_from(parent: Job) -> dict:
    """A child job has its parent's photo, so its parent's upload of it too (still
    checked for validity before each use)."""
    return {"kie_image_url": parent.kie_image_url, "kie_image_expires_at": parent.kie_image_expires_at}


def _refinished_from(parent: Job) -> dict:
    """What a job cut from ``parent``'s clip starts with: in ``finishing``, that clip."""
    now = utcnow()
    return {"status": JobStatus.FINISHING, "finishing_at": now, "prompt": parent.prompt,
            "kie_task_id": parent.kie_task_id, "kie_key": parent.kie_key, "result_url": parent.result_url,
            "video_path": parent.video_path, "video_bytes": parent.video_bytes}


def _stamp(status: JobStatus, fields: dict) -> dict:
    now = utcnow()
    fields = {**fields, "status": status, "updated_at": now}
    fields.setdefault(stamp_column(status), now)
    return fields


def advance(job_id, frm: JobStatus | tuple[JobStatus, ...], to: JobStatus, message_id: str, where=None,
            **fields) -> bool:
    """Move the job ``frm`` -> ``to`` if it is still in ``frm``, recording
    ``message_id`` as the message that moved it; True when this call moved it."""
    frm = frm if isinstance(frm, tuple) else (frm,)
    condition = (Job.id == job_id) & Job.status.in_(frm)
    if where is not None:
        condition &= where
    return Job.update(**_stamp(to, {**fields, "moved_by_message": message_id})).where(condition).execute() == 1


def update_in_state(job_id, status: JobStatus, where=None, **fields) -> bool:
    """Change fields of the job only while it is in ``status``."""
    condition = (Job.id == job_id) & (Job.status == status)
    if where is not None:
        condition &= where
    return Job.update(**fields, updated_at=utcnow()).where(condition).execute() == 1


def claim(job_id, status: JobStatus, what: Claim, delivery_id: str, where=None, **fields) -> bool:
    """Make the Redis delivery ``delivery_id`` the only one doing ``what`` for this job.

    For steps with an outside effect that must not happen twice (creating the
    KIE task, sending the video, telling the seller about a failure): a
    duplicate message finds the claim taken and does nothing, while a
    redelivery of the claiming message after a crash (same delivery id)
    passes.  A failed attempt gives the claim back with :func:`release`, so its
    retry can take it.  Taking a claim stamps ``updated_at``: a claim is only
    ever as old as the job's last write, which is how the watchdog tells a claim
    whose holder is gone (:func:`take_for_rescue`).  ``fields`` are written
    with the claim, in the same statement, only when it is taken.
    """
    column = getattr(Job, what.value)
    condition = (Job.id == job_id) & (Job.status == status) & column.in_(("", delivery_id))
    if where is not None:
        condition &= where
    changes = {**{getattr(Job, name): value for name, value in fields.items()}, column: delivery_id,
               Job.updated_at: utcnow()}
    return Job.update(changes).where(condition).execute() == 1


def release(job_id, what: Claim, delivery_id: str) -> None:
    """Give back a claim taken by :func:`claim`."""
    column = getattr(Job, what.value)
    Job.update({column: ""}).where((Job.id == job_id) & (column == delivery_id)).execute()


def set_status_message(job_id, message_id: int) -> None:
    """Remember the message the workers edit as the job moves."""
    Job.update(status_message_id=message_id).where(Job.id == job_id).execute()


def fail_job(job_id, failure: Failure) -> credits.Movement | None:
    """Fail the job and refund its credit, in one transaction, once.

    The refund when this call failed the job; None when the job had already
    ended (done or failed), in which case nothing changes.  Raises
    :class:`SendInFlight`, changing nothing, while a delivery holds the job's
    send claim: its video may be on its way into the chat (an upload takes up
    to minutes), and a job is never both delivered and refunded.
    """
    refund = _fail(job_id, failure, Job.status.in_(ACTIVE_STATUSES) & (Job.send_claim == ""))
    if refund is None and _sending(job_id):
        raise SendInFlight(f"job {job_id}: its video is being sent")
    return refund


def _sending(job_id) -> bool:
    """Whether a delivery holds the job's send claim (the job still active)."""
    return Job.select(Job.id).where((Job.id == job_id) & Job.status.in_(ACTIVE_STATUSES)
                                    & (Job.send_claim != "")).exists()


def fail_stuck(job_id, status: JobStatus, seen_at: dt.datetime, failure: Failure) -> credits.Movement | None:
    """:func:`fail_job` for the watchdog: only while the job is still in ``status``
    and unwritten since ``seen_at`` (its ``updated_at`` when found stuck), so a
    job that moved meanwhile — a video on its way, say — is left alone."""
    return _fail(job_id, failure, (Job.status == status) & (Job.updated_at == seen_at))


def _fail(job_id, failure: Failure, condition) -> credits.Movement | None:
    with database.atomic():
        moved = (
            Job.update(
                **_stamp(JobStatus.FAILED, {}),
                batch_waiting=False,  # a batch's job failed before its turn waits no more
                error_class=failure.error_class,
                error_detail=failure.detail[:2000],
            )
            .where((Job.id == job_id) & condition)
            .execute()
        )
        if not moved:
            return None
        return credits.refund_job(job_id, reason=failure.error_class)


def undo_failure(job_id, **fields) -> credits.Movement | None:
    """A video Telegram accepted for a job already failed (its sender's claim
    was taken for dead, and the job failed meanwhile): the job is done after
    all, with ``fields`` (the video's ids), and its refund reversed through the
    ledger — one transaction, once.  The reversal when there was a refund to
    reverse; None otherwise (or when the seller has spent the refund: then the
    job is done all the same, and the audit lists it)."""
    with database.atomic():
        moved = (
            Job.update(**_stamp(JobStatus.DONE, fields), error_class="", error_detail="", failed_at=None)
            .where((Job.id == job_id) & (Job.status == JobStatus.FAILED))
            .execute()
        )
        if not moved:
            return None
        try:
            with database.atomic():  # a savepoint: a refund already spent leaves the job done
                return credits.reverse_refund(job_id, reason="video delivered after the job failed")
        except (credits.InsufficientCredits, credits.NoDebit):
            return None


def take_for_rescue(job_id, status: JobStatus, seen_at: dt.datetime, clear: tuple[Claim, ...] = ()) -> bool:
    """The watchdog's mark on a job it found stuck, before it sends the job's
    message again: if the job is still in ``status`` and unwritten since
    ``seen_at``, stamp ``updated_at`` — so it is not taken again before its
    state's limit passes once more — and clear the ``clear`` claims, whose
    holders are gone (a live holder would have written since).  True when this
    call took it."""
    fields = {getattr(Job, what.value): "" for what in clear}
    condition = (Job.id == job_id) & (Job.status == status) & (Job.updated_at == seen_at)
    # the rescue's own poll is due now: the next stuck check counts from this mark
    fields[Job.next_poll_at] = None
    return Job.update({**fields, Job.updated_at: utcnow()}).where(condition).execute() == 1


def mark_failure_notified(job_id) -> bool:
    """Record that the seller was told about the failure; True the first time."""
    return (
        Job.update(failure_notified_at=utcnow())
        .where((Job.id == job_id) & (Job.status == JobStatus.FAILED) & Job.failure_notified_at.is_null())
        .execute()
        == 1
    )


def uploaded_image(job: Job) -> str | None:
    """The job's photo in KIE's file store, while its URL is still good; else None
    (upload once per job: resubmits and retries reuse it)."""
    return photos.still_valid(job.kie_image_url, job.kie_image_expires_at)


def remember_upload(job_id, url: str, valid_s: float) -> None:
    """Record the job's uploaded photo and until when KIE keeps it."""
    Job.update(kie_image_url=url, kie_image_expires_at=utcnow() + dt.timedelta(seconds=valid_s),
               updated_at=utcnow()).where(Job.id == job_id).execute()


def forget_upload(job_id) -> None:
    """KIE could not fetch an uploaded photo: the next submit uploads them all again."""
    Job.update(kie_image_url="", kie_image_expires_at=None).where(Job.id == job_id).execute()
    photos.forget_uploads(job_id)
