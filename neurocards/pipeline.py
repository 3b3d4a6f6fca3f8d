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

__all__ = ["pipeline_actor", "retry_transient", "message_token", "delivery_token", "defer", "PIPELINE_QUEUE"]

PIPELINE_QUEUE = "pipeline"


def retry_transient(max_retries: int):
    """A ``retry_when`` that retries transient failures only, ``max_retries`` times."""

    def retry_when(retries: int, exception: BaseException) -> bool:
        return retries < max_retries and classify(exception).transient

    return retry_when


def _with_retry_after(fn):
    """Turn a transient failure that names a wait (``retry_after``) into
    ``dramatiq.Retry(delay=…)``, so the Retries middleware waits that long."""

    def translate(exc: Exception) -> None:
        failure = classify(exc)
        if failure.transient and failure.retry_after_s:
            raise dramatiq.Retry(failure.error_class, delay=int(failure.retry_after_s * 1000)) from exc

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_wrapper(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except dramatiq.Retry:
                raise
            except Exception as exc:
                translate(exc)
                raise
        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except dramatiq.Retry:
            raise
        except Exception as exc:
            translate(exc)
            raise
    return wrapper


def pipeline_actor(*, time_limit_s: float, max_retries: int | None = None, refund: bool = True, **options):
    """Declare a pipeline actor (queue ``pipeline``) with our policies."""
    pipeline = get_settings().pipeline
    retries = pipeline.max_retries if max_retries is None else max_retries

    def decorate(fn):
        return dramatiq.actor(
            _with_retry_after(fn),
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


def current_retries() -> int:
    message = CurrentMessage.get_current_message()
    return message.options.get("retries", 0) if message is not None else 0


def defer(actor, *args, delay_s: float) -> None:
    """Send ``actor(*args)`` again after ``delay_s``: a wait, not a failure."""
    actor.send_with_options(args=args, delay=max(1, int(delay_s * 1000)))
