"""What every pipeline actor shares: its options, its retry policy and the
small verbs it uses to pass a job on.

- :func:`pipeline_actor` declares an actor with a per-actor time limit, an age
  limit, retries decided by the error taxonomy (``retry_when``), a wait of
  ``retry_after`` when a service asked for one, and a refund when its message
  leaves for good.
- :func:`message_token` is the id of the message being processed, written on the
  job by each transition (see :mod:`neurocards.jobs`).
- :func:`defer` re-sends the current message later without spending a retry,
  for waits that are not failures (rate limits, polling).
"""

from __future__ import annotations

import functools
import inspect

import dramatiq
from dramatiq.middleware import CurrentMessage

from .errors import classify
from .settings import get_settings

__all__ = ["pipeline_actor", "retry_transient", "message_token", "delivery_token", "defer", "job_to_work_on",
           "PIPELINE_QUEUE"]

PIPELINE_QUEUE = "pipeline"


def retry_transient(max_retries: int):
    """A ``retry_when`` that retries transient failures only, ``max_retries`` times."""

    def retry_when(retries: int, exception: BaseException) -> bool:
        return retries < max_retries and classify(exception).transient

    return retry_when


def _waiting_out_rate_limits(fn):
    """A service that answers "too many requests, retry after N s" gets its wait:
    the message is sent again after N s, and the wait spends none of its
    retries (a flood limit is not a failure of the job).  The actors give back
    any claim they hold before the exception reaches here."""

    def wait_if_asked(exc: Exception, args) -> bool:
        failure = classify(exc)
        if failure.error_class == "rate_limited" and failure.retry_after_s:
            defer(actor_of(fn), *args, delay_s=failure.retry_after_s)
            return True
        return False

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_wrapper(*args):
            try:
                return await fn(*args)
            except Exception as exc:
                if not wait_if_asked(exc, args):
                    raise
        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except Exception as exc:
            if not wait_if_asked(exc, args):
                raise
    return wrapper


def actor_of(fn):
    return dramatiq.get_broker().get_actor(fn.__name__)


def pipeline_actor(*, time_limit_s: float, max_retries: int | None = None, refund: bool = True, **options):
    """Declare a pipeline actor (queue ``pipeline``) with our policies."""
    pipeline = get_settings().pipeline
    retries = pipeline.max_retries if max_retries is None else max_retries

    def decorate(fn):
        return dramatiq.actor(
            _waiting_out_rate_limits(fn),
            actor_name=fn.__name__,
            queue_name=PIPELINE_QUEUE,
            time_limit=int(time_limit_s * 1000),
            max_age=int(pipeline.max_age_s * 1000),
            max_retries=retries,
            retry_when=retry_transient(retries),
            min_backoff=int(pipeline.min_backoff_s * 1000),
            max_backoff=int(pipeline.max_backoff_s * 1000),
            refund_on_dead_letter=refund,
            **options,
        )

    return decorate


def message_token() -> str:
    """The id of the message being processed (``""`` outside a worker)."""
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else ""


def delivery_token() -> str:
    """The id of this *delivery* of the message: the same across a redelivery after
    a crash, different for a duplicate enqueue or a retry (Redis broker's
    ``redis_message_id``).  Claims on outside effects use it (see ``jobs.claim``)."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return ""
    return message.options.get("redis_message_id") or message.message_id


def job_to_work_on(job_id: str, expected: tuple, *, moved_to, next_actor):
    """The job, when it is in one of the ``expected`` states; otherwise None, and
    nothing for this message to do — except when this very message already moved
    the job on to ``moved_to`` and was interrupted before sending ``next_actor``'s
    message: that message is sent again."""
    from .jobs import get_job

    job = get_job(job_id)
    if job is None:
        return None
    if job.status == moved_to and job.step_token == message_token():
        next_actor.send(job_id)
        return None
    return job if job.status in expected else None


def current_retries() -> int:
    message = CurrentMessage.get_current_message()
    return message.options.get("retries", 0) if message is not None else 0


def defer(actor, *args, delay_s: float) -> None:
    """Send ``actor(*args)`` again after ``delay_s``: a wait, not a failure.  The
    retries already spent travel with it, so waiting never renews the budget."""
    options = {"retries": current_retries()} if current_retries() else {}
    actor.send_with_options(args=args, delay=max(1, int(delay_s * 1000)), **options)
