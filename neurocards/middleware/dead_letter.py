"""Refund a job whose pipeline message leaves for good."""

from __future__ import annotations

import logging

import dramatiq

from ..errors import Kind
from ..logs import job_logger
from .failures import FAILURE_OPTION

#: What a message that failed without an exception (skipped by its age limit) counts as.
EXPIRED = {"kind": "system", "error_class": "expired", "detail": "message skipped by its age limit"}


class DeadLetterRefunds(dramatiq.Middleware):
    """When a message of an actor with ``refund_on_dead_letter=True`` is nacked —
    retries exhausted, a non-retryable error, a time limit on the last attempt,
    or skipped by its age limit — hand its job to the ``fail_job`` actor, which
    fails it, refunds the credit and tells the seller, once.

    ``after_nack`` is the one hook every route to the dead-letter queue passes.
    The first argument of every pipeline message is the job id.  A failure
    only the seller can change (a content-policy refusal) is logged at INFO:
    it is an outcome, whose WARNING is ``fail_job``'s.
    """

    def __init__(self, *, fail_actor_name: str = "fail_job") -> None:
        self.fail_actor_name = fail_actor_name

    @property
    def actor_options(self):
        return {"refund_on_dead_letter"}

    def after_nack(self, broker, message):
        actor = broker.get_actor(message.actor_name)
        if not actor.options.get("refund_on_dead_letter") or not message.args:
            return
        job_id = message.args[0]
        failure = message.options.get(FAILURE_OPTION) or EXPIRED
        level = logging.INFO if failure["kind"] == Kind.USER else logging.WARNING
        job_logger(job_id).log(
            level, "%s dead-lettered (%s: %s); failing the job", message.actor_name, failure["error_class"],
            failure["detail"],
        )
        broker.get_actor(self.fail_actor_name).send(job_id, failure["kind"], failure["error_class"], failure["detail"])
