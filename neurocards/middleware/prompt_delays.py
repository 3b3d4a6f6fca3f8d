"""Delayed messages come back on time: rate-limit waits are exact only if the
message deferred for a slot is enqueued when the slot frees (issue 12)."""

from __future__ import annotations

import dramatiq

__all__ = ["PromptDelays", "IDLE_POLL_MS"]

#: How often an idle worker looks for due delayed messages (Dramatiq's default,
#: ``worker_timeout``, is 1,000 ms).
IDLE_POLL_MS = 100


class PromptDelays(dramatiq.Middleware):
    """An idle Dramatiq consumer sleeps up to ``worker_timeout`` between fetches,
    and only between fetches does it move due delayed messages to their queue:
    a message deferred until a KIE create slot frees came back up to a second
    late, which alone cost ~5 % of KIE's create limit.  Capping the idle sleep
    at ``idle_poll_ms`` costs a few Redis fetches a second per idle process."""

    def __init__(self, *, idle_poll_ms: int = IDLE_POLL_MS) -> None:
        self.idle_poll_ms = idle_poll_ms

    def before_worker_boot(self, broker, worker):
        worker.worker_timeout = min(worker.worker_timeout, self.idle_poll_ms)
