"""The watchdog's metrics, served by ``neurocards watchdog`` on ``metrics.watchdog_port``."""

from __future__ import annotations

import logging

from ..models import ACTIVE_STATUSES, Job, JobStatus

__all__ = ["WatchdogMetrics"]

logger = logging.getLogger("neurocards.watchdog")


class WatchdogMetrics:
    """The watchdog's own registry, served on ``metrics.watchdog_port``: rescues by
    state and action (every pair exists from the start, at 0), whether this
    process holds the lease, and the refunds and ended jobs of its deadline
    failures (the same series as the workers', summed across processes)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        from ..metrics import WorkerMetrics

        self.registry = CollectorRegistry()
        self.rescues = Counter(
            "neurocards_watchdog_rescues_total", "Stuck jobs the watchdog moved on, by state and action.",
            ["stage", "action"], registry=self.registry,
        )
        self.leader = Gauge("neurocards_watchdog_leader", "1 while this watchdog holds the lease (is the active one).",
                            registry=self.registry)
        self.jobs = WorkerMetrics(registry=self.registry)
        self.kie_balance = Gauge("neurocards_kie_balance_credits",
                                 "KIE's account balance as last read, in its credits.", registry=self.registry)
        self.kie_balance_needed = Gauge(
            "neurocards_kie_balance_needed_credits", "What the jobs in flight and the last hour's rate of new ones "
            "would take at KIE (alert: the balance below it).", registry=self.registry)
        self.margin_floor = Gauge("neurocards_margin_alert_below", "economics.margin_alert_below: the margin "
                                  "alert's floor.", registry=self.registry)
        self.tier_closed = Gauge("neurocards_kie_tier_closed", "1 while a tier is closed: KIE's balance can't pay "
                                 "its model's task.", ["tier"], registry=self.registry)
        for status in ACTIVE_STATUSES:
            for action in ("resend", "fail"):
                self.rescues.labels(status.value, action)
        self.rescues.labels(JobStatus.FAILED.value, "notify")

    def rescued(self, stage: str, action: str) -> None:
        self.rescues.labels(stage, action).inc()

    def failed(self, job: Job | None, refunded: int) -> None:
        self.jobs.credits_moved("refund", refunded)
        if job is not None:
            self.jobs.job_finished(job)

    def serve(self, host: str, port: int):
        """Serve the registry on ``host:port`` from a daemon thread; returns the server."""
        from prometheus_client import start_http_server

        server, _ = start_http_server(port, addr=host, registry=self.registry)
        logger.info("watchdog: metrics on http://%s:%s/metrics", host, port)
        return server
