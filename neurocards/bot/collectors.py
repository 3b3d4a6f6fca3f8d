"""Gauges read at scrape time: Dramatiq's queue depths from Redis, and the jobs
in flight from the database (how many per state, and how old the oldest is)."""

from __future__ import annotations

import logging

from peewee import fn
from prometheus_client.core import GaugeMetricFamily

from ..models import ACTIVE_STATUSES, Job, utcnow
from ..queues import read_depths

__all__ = ["QueueDepthCollector", "JobsInFlightCollector"]

logger = logging.getLogger(__name__)


class QueueDepthCollector:
    """``neurocards_queue_messages{queue, state}``: ready, delayed and dead-lettered."""

    def __init__(self, redis) -> None:
        self.redis = redis  # a synchronous client: collectors run in the scrape's thread

    def collect(self):
        gauge = GaugeMetricFamily("neurocards_queue_messages", "Messages in Dramatiq's Redis queues, by state.",
                                  labels=["queue", "state"])
        try:
            for (queue, state), count in read_depths(self.redis).items():
                gauge.add_metric([queue, state], count)
        except Exception:  # a scrape must not fail because Redis is down; the alert on it will fire
            logger.warning("queue depths unavailable", exc_info=True)
            return
        yield gauge


class JobsInFlightCollector:
    """``neurocards_jobs_active{status}`` and ``neurocards_job_oldest_age_seconds{status}``."""

    def collect(self):
        active = GaugeMetricFamily("neurocards_jobs_active", "Jobs not yet done or failed, by state.",
                                   labels=["status"])
        oldest = GaugeMetricFamily("neurocards_job_oldest_age_seconds",
                                   "Seconds since the oldest job in each state last moved.", labels=["status"])
        try:
            rows = {row.status: (row.n, row.since) for row in (
                Job.select(Job.status, fn.COUNT(Job.id).alias("n"), fn.MIN(Job.updated_at).alias("since"))
                .where(Job.status.in_(ACTIVE_STATUSES)).group_by(Job.status)
            )}
        except Exception:
            logger.warning("jobs in flight unavailable", exc_info=True)
            return
        now = utcnow()
        for status in ACTIVE_STATUSES:
            count, since = rows.get(status.value, (0, None))
            active.add_metric([status.value], count)
            oldest.add_metric([status.value], (now - _as_datetime(since)).total_seconds() if since else 0.0)
        yield active
        yield oldest


def _as_datetime(value):
    """SQLite hands back MIN() of a timestamp column as text."""
    import datetime as dt

    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value
