"""Remember, on the message, how its last attempt failed."""

from __future__ import annotations

import dramatiq

from ..errors import classify

#: The message option holding the last failure: ``{"kind", "error_class", "detail"}``.
FAILURE_OPTION = "failure"


class RecordFailures(dramatiq.Middleware):
    """Classifies each exception an actor raises (DESIGN §7) and stores the result
    in the message's options, where :class:`DeadLetterRefunds` reads it when
    the message leaves for good.  The exception object itself is gone by then."""

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is not None:
            failure = classify(exception)
            message.options[FAILURE_OPTION] = {
                "kind": failure.kind.value,
                "error_class": failure.error_class,
                "detail": failure.detail,
            }
