"""Each worker host keeps its own storage from filling up."""

from __future__ import annotations

import logging
import threading

import dramatiq

__all__ = ["StorageHousekeeping"]

logger = logging.getLogger(__name__)


class StorageHousekeeping(dramatiq.Middleware):
    """Once the worker has booted, a daemon thread sweeps this host's storage every
    ``period_s``, removing files older than ``keep_s`` (storage is a cache:
    photos come back from Telegram, videos from KIE).  Every process sweeps; an
    unlink that loses a race finds nothing to remove."""

    def __init__(self, *, storage, keep_s: float, period_s: float) -> None:
        self.storage = storage
        self.keep_s = keep_s
        self.period_s = period_s
        self.stopped = threading.Event()

    def after_worker_boot(self, broker, worker):
        threading.Thread(target=self._run, name="storage-housekeeping", daemon=True).start()

    def before_worker_shutdown(self, broker, worker):
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.period_s):
            try:
                files, freed = self.storage.sweep(self.keep_s)
            except OSError:
                logger.warning("storage sweep failed", exc_info=True)
                continue
            if files:
                logger.info("storage sweep removed %d files (%d bytes)", files, freed)
