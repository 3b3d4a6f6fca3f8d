"""What every pipeline actor shares: its options, its retry policy and the
small verbs it uses to pass a job on.

- :class:`PipelineActors` declares the worker's actors on its broker, with the
  policy from ``[pipeline]`` settings: :meth:`~PipelineActors.stage` for
  pipeline stages (a time limit, an age limit, retries decided by the error
  taxonomy, a wait of ``retry_after`` when a service asked for one, a refund
  when the message leaves for good) and :meth:`~PipelineActors.refund_path` for
  failing a job and telling the seller, which never expires and never gives up
  on a transient failure (a refund must land, however long the outage).
- :meth:`PipelineActors.defer` re-sends the current message later without
  spending a retry, for waits that are not failures (rate limits, polling).
- :func:`current_message_id` is the id of the message being processed, written
  on the job by each transition (see :mod:`neurocards.jobs`);
  :func:`current_delivery_id` is the id of this Redis *delivery* of it, which
  claims on outside effects use.
"""

from __future__ import annotations

import functools

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import CurrentMessage

from ..db import record_effect
from ..dispatch import PIPELINE_QUEUE, queue_of
from ..errors import Kind, classify
from ..models import JobStatus

__all__ = ["PipelineActors", "retry_transient", "retry_unless_user", "current_message_id", "current_delivery_id",
           "current_retries", "job_to_work_on", "on_event_loop", "record_effect", "PIPELINE_QUEUE"]


def retry_transient(max_retries: int | None):
    """A ``retry_when`` that retries transient failures only: ``max_retries`` times,
    or for ever when it is None."""

    def retry_when(retries: int, exception: BaseException) -> bool:
        within_budget = max_retries is None or retries < max_retries
        return within_budget and classify(exception).transient

    return retry_when


def retry_unless_user(retries: int, exception: BaseException) -> bool:
    """A ``retry_when`` for work that must happen (a refund): every failure is
    retried, for ever, except one only the seller can change (a blocked bot)."""
    return classify(exception).kind is not Kind.USER


class PipelineActors:
    """Declares the worker's actors on ``broker`` with the ``[pipeline]`` policy."""

    def __init__(self, broker: dramatiq.Broker, policy) -> None:
        self.broker = broker
        self.policy = policy

    def stage(self, *, time_limit_s: float, max_retries: int | None = None, refund: bool = True):
        """A pipeline stage: age limit, bounded retries, a refund when its message leaves for good."""
        retries = self.policy.max_retries if max_retries is None else max_retries
        return self._declare(
            time_limit_s=time_limit_s,
            max_age=int(self.policy.max_age_s * 1000),
            max_retries=retries,
            retry_when=retry_transient(retries),
            refund_on_dead_letter=refund,
        )

    def refund_path(self, *, time_limit_s: float, retry_when=retry_unless_user):
        """Failing a job, refunding it and telling the seller: no age limit, retried
        with backoff for as long as ``retry_when`` says (by default, for ever)."""
        return self._declare(
            time_limit_s=time_limit_s,
            max_age=None,
            max_retries=None,
            retry_when=retry_when,
            refund_on_dead_letter=False,
        )

    def _declare(self, *, time_limit_s: float, **options):
        def decorate(fn):
            return dramatiq.actor(
                self._waiting_out_rate_limits(fn),
                broker=self.broker,
                actor_name=fn.__name__,
                queue_name=queue_of(fn.__name__),
                time_limit=int(time_limit_s * 1000),
                min_backoff=int(self.policy.min_backoff_s * 1000),
                max_backoff=int(self.policy.max_backoff_s * 1000),
                **options,
            )

        return decorate

    def _waiting_out_rate_limits(self, fn):
        """A service that answers "too many requests, retry after N s" gets its wait:
        the message is sent again after N s, and the wait spends none of its
        retries (a flood limit is not a failure of the job).  The actors give back
        any claim they hold before the exception reaches here."""

        @functools.wraps(fn)
        def wrapper(*args):
            try:
                return fn(*args)
            except Exception as exc:
                failure = classify(exc)
                if failure.error_class == "rate_limited" and failure.retry_after_s:
                    self.defer(delay_s=failure.retry_after_s)
                    return None
                raise

        return wrapper

    def defer(self, *, delay_s: float, args: tuple | None = None) -> None:
        """Send the current message again after ``delay_s`` (with ``args`` instead
        of its own when given): a wait, not a failure.  The retries already spent
        travel with it, so waiting never renews the budget."""
        message = CurrentMessage.get_current_message()
        retries = current_retries()
        again = dramatiq.Message(
            queue_name=queue_of(message.actor_name),
            actor_name=message.actor_name,
            args=tuple(message.args if args is None else args),
            kwargs={},
            options={"retries": retries} if retries else {},
        )
        self.broker.enqueue(again, delay=max(1, int(delay_s * 1000)))


def current_message_id() -> str:
    """The id of the message being processed (``""`` outside a worker)."""
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else ""


def current_delivery_id() -> str:
    """The id of this *delivery* of the message: the same across a redelivery after
    a crash, different for a duplicate enqueue or a retry (the Redis broker's
    ``redis_message_id``).  Claims on outside effects use it (see ``jobs.claim``)."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return ""
    return message.options.get("redis_message_id") or message.message_id


def current_retries() -> int:
    message = CurrentMessage.get_current_message()
    return message.options.get("retries", 0) if message is not None else 0


def job_to_work_on(job_id: str, expected: tuple[JobStatus, ...], *, moved_to: JobStatus, send_next):
    """The job, when it is in one of the ``expected`` states; otherwise None, and
    nothing for this message to do — except when this very message already moved
    the job on to ``moved_to`` and was interrupted before sending the next
    message: ``send_next()`` sends it again."""
    from .state_machine import get_job

    job = get_job(job_id)
    if job is None:
        return None
    if job.status == moved_to and job.moved_by_message == current_message_id():
        send_next()
        return None
    return job if job.status in expected else None


def on_event_loop(coroutine_fn, *args, **kwargs):
    """Run ``coroutine_fn(*args, **kwargs)`` on Dramatiq's event-loop thread (the
    ``AsyncIO`` middleware's) and wait for its result.

    Actors that talk to Telegram through aiogram stay synchronous: their
    database and Redis calls run on their own worker thread, and only the HTTP
    call goes to the one shared loop, which no blocking call ever holds up.
    """
    return get_event_loop_thread().run_coroutine(coroutine_fn(*args, **kwargs))
