"""Dramatiq's event-loop thread, made a daemon so it never keeps a worker alive."""

from __future__ import annotations

from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.middleware import AsyncIO

__all__ = ["DaemonAsyncIO"]


class DaemonAsyncIO(AsyncIO):
    """Dramatiq's :class:`~dramatiq.middleware.AsyncIO` (the loop our Telegram
    actors hand their HTTP calls to), with the loop's thread a daemon.

    Upstream's thread is not a daemon and is stopped only by a graceful worker
    shutdown.  When the stop is not graceful — systemd signals a worker's whole
    process group, so each worker process gets SIGTERM twice (from systemd and
    from dramatiq's main process) and dramatiq takes the second for "exit now"
    (``SystemExit`` in the main thread) — that thread alone kept the process
    alive for good.  Every other thread of a worker is a daemon already; the
    messages it held are redelivered once its heartbeat goes stale.
    """

    def before_worker_boot(self, broker, worker):
        thread = EventLoopThread(self.logger)
        thread.daemon = True
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)
