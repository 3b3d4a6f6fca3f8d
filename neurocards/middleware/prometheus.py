"""Dramatiq's Prometheus middleware, exposed however the worker was started."""

from __future__ import annotations

import logging
import os

from dramatiq.middleware.prometheus import Prometheus

__all__ = ["ExposedPrometheus"]

logger = logging.getLogger(__name__)


class ExposedPrometheus(Prometheus):
    """Dramatiq's per-actor metrics, served by whichever worker process binds the
    port first (one server for all: the values live in the shared multiprocess
    folder).

    Upstream forks the exposition server from the ``dramatiq`` command only, so
    a ``Worker`` started in code exports nothing (dramatiq#672); and it binds
    0.0.0.0.  Here the server is a thread of a worker process, on
    ``dramatiq_prom_host`` (``metrics.host``, 127.0.0.1 by default).
    """

    def __init__(self, *, host: str, port: int) -> None:
        super().__init__()
        self.host = host
        self.port = port

    @property
    def forks(self):
        return []

    def after_worker_boot(self, broker, worker):
        if not hasattr(self, "total_messages"):  # a Worker started in code: no process_boot event
            self.after_process_boot(broker)
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        try:
            start_http_server(self.port, addr=self.host, registry=registry)
        except OSError:
            logger.debug("metrics port %s:%s is served by another worker process", self.host, self.port)
            return
        logger.info("worker metrics on http://%s:%s/metrics (pid %s)", self.host, self.port, os.getpid())
