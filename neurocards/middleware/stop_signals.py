"""One stop signal, however many copies of it a worker process receives."""

from __future__ import annotations

import logging
import signal
import threading
import time

import dramatiq

__all__ = ["OneStopSignal"]

logger = logging.getLogger(__name__)


class OneStopSignal(dramatiq.Middleware):
    """Counts the SIGTERMs a worker process receives within ``window_s`` of the
    first as that one stop.

    systemd stops a service by signalling its whole process group, and
    dramatiq's main process passes its own SIGTERM on to its workers: each
    worker process receives two at once, and dramatiq reads a second SIGTERM
    as "exit now", skipping the graceful stop (finish running messages within
    ``--worker-shutdown-timeout``, give prefetched ones back to Redis at once).
    With this, the graceful stop runs; a SIGTERM sent later still means "exit
    now".  Installed on the worker process's main thread, where dramatiq's own
    handler is, once the worker has booted.
    """

    def __init__(self, *, window_s: float = 2.0) -> None:
        self.window_s = window_s

    def after_worker_boot(self, broker, worker):
        if threading.current_thread() is not threading.main_thread():
            return  # a Worker started in code, in a thread: signals are not its business
        dramatiq_handler = signal.getsignal(signal.SIGTERM)
        if not callable(dramatiq_handler):
            return
        first: list[float] = []

        def handle(signum, frame):
            now = time.monotonic()
            if first and now - first[0] < self.window_s:
                logger.info("worker: the same stop signal again; still stopping gracefully")
                return
            first[:] = [now]
            dramatiq_handler(signum, frame)

        signal.signal(signal.SIGTERM, handle)
