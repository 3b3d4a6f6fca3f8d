"""Outcomes only the seller can change are not errors of ours: no traceback, no retry."""

from __future__ import annotations

import dramatiq

from ..errors import Kind, classify

__all__ = ["ExpectedFailures", "SellerFailure"]


class _ClassifiedBySeller(type):
    def __instancecheck__(cls, exception) -> bool:
        return isinstance(exception, BaseException) and classify(exception).kind is Kind.USER


class SellerFailure(metaclass=_ClassifiedBySeller):
    """Stands for every exception the taxonomy (DESIGN §7) calls *user*: a photo
    refused under a content policy, an unreadable image, a seller who blocked
    the bot.  ``isinstance(exc, SellerFailure)`` asks :func:`errors.classify`."""


class ExpectedFailures(dramatiq.Middleware):
    """Gives every actor Dramatiq's ``throws`` option for :class:`SellerFailure`.

    Such a failure is an outcome, not a fault: without this the worker logs it
    as an ERROR with a traceback ("Failed to process message … with unhandled
    exception").  With ``throws`` the worker logs one INFO line without a
    traceback and Retries aborts the message at once (as ``retry_when`` would);
    the message is dead-lettered, and the job failed and refunded, as before.
    The one WARNING about it is the refund's, with the job id and the class.
    """

    def after_declare_actor(self, broker, actor):
        actor.options.setdefault("throws", SellerFailure)
