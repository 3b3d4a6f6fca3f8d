"""Keep secrets out of the worker's logs."""

from __future__ import annotations

import logging

import dramatiq

from ..logs import SecretsFilter


class ScrubSecretLogs(dramatiq.Middleware):
    """Puts a :class:`SecretsFilter` on every root log handler once the worker
    process has booted (the ``dramatiq`` command sets its handlers up itself), so
    no token or key reaches a log line, a traceback included."""

    def __init__(self, *, secrets: tuple[str, ...]) -> None:
        self.filter = SecretsFilter(secrets)

    def after_process_boot(self, broker):
        for handler in logging.getLogger().handlers:
            if self.filter not in handler.filters:
                handler.addFilter(self.filter)

    def after_worker_boot(self, broker, worker):
        self.after_process_boot(broker)
