"""The worker's log lines: our format, the job id, no secrets."""

from __future__ import annotations

import logging

import dramatiq

from ..logs import configure_handler


class WorkerLogging(dramatiq.Middleware):
    """Once the worker process has booted (the ``dramatiq`` command sets its
    handlers up itself), give every root handler our one-line format, the id of
    the job being worked on, and a secrets filter, so no token or key reaches a
    log line, a traceback included."""

    def __init__(self, *, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets

    def after_process_boot(self, broker):
        for handler in logging.getLogger().handlers:
            configure_handler(handler, self.secrets)
        for noisy in ("httpx", "httpcore", "httpx2"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    def after_worker_boot(self, broker, worker):
        self.after_process_boot(broker)
