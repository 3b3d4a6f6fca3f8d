"""Domain metrics of the workers (DESIGN §9), next to Dramatiq's per-actor ones.

Worker processes share one prometheus_client multiprocess folder with
Dramatiq's Prometheus middleware, whose exposition server (forked by the
``dramatiq`` command, bound to ``metrics.host:metrics.worker_port``) serves the
sum over processes.  :func:`prepare_worker_environment` must run before
anything imports ``prometheus_client``: that is when the library decides
whether values live in process memory or in the shared folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = [
    "prepare_worker_environment",
    "clear_multiprocess_dir",
    "job_finished",
    "credits_moved",
    "external_call",
    "video_delivered",
]

#: Seconds; wide enough for a 20-minute job and a 1 ms call.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800)
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


def multiprocess_dir(settings) -> Path:
    return Path(os.environ.get("dramatiq_prom_db") or Path(tempfile.gettempdir()) / f"neurocards-prometheus-{settings.metrics.worker_port}")


def prepare_worker_environment(settings) -> None:
    """Point Dramatiq's Prometheus middleware and prometheus_client at one folder,
    and bind the exposition server to ``metrics.host`` (Dramatiq's default is
    0.0.0.0, open to the network)."""
    folder = multiprocess_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("dramatiq_prom_db", str(folder))
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(folder))
    os.environ.setdefault("dramatiq_prom_host", settings.metrics.host)
    os.environ.setdefault("dramatiq_prom_port", str(settings.metrics.worker_port))


def clear_multiprocess_dir(settings) -> None:
    """Remove the counters of earlier runs (dramatiq#703: nothing else does)."""
    folder = multiprocess_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


class _Metrics:
    """Created on first use, after :func:`prepare_worker_environment`."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.jobs_finished = Counter(
            "neurocards_jobs_finished_total", "Jobs that ended, by outcome and error class.",
            ["outcome", "error_class"],
        )
        self.job_seconds = Histogram(
            "neurocards_job_duration_seconds", "From job start to its end, by outcome.",
            ["outcome"], buckets=LATENCY_BUCKETS,
        )
        self.stage_seconds = Histogram(
            "neurocards_stage_duration_seconds", "Time a job spent in each stage.",
            ["stage"], buckets=LATENCY_BUCKETS,
        )
        self.credits = Counter(
            "neurocards_credits_total", "Credits moved through the ledger by the workers, by kind.", ["kind"],
        )
        self.calls = Counter(
            "neurocards_external_calls_total", "Calls to external services, by outcome (ok or error class).",
            ["service", "operation", "outcome"],
        )
        self.call_seconds = Histogram(
            "neurocards_external_call_seconds", "Latency of calls to external services.",
            ["service", "operation"], buckets=CALL_BUCKETS,
        )
        self.delivered_bytes = Counter("neurocards_delivered_bytes_total", "Bytes of video sent to sellers.")
        self.ready_to_delivered = Histogram(
            "neurocards_ready_to_delivered_seconds", "From the video being ready at KIE to it being in the chat.",
            buckets=LATENCY_BUCKETS,
        )
        # Series that exist from the start, so the first increase after a restart
        # shows in rate() and increase() (the refund-ratio alert above all).
        self.jobs_finished.labels("done", "none")
        self.credits.labels("refund")


_metrics: _Metrics | None = None


def _m() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


def job_finished(job) -> None:
    """Count a job that just ended and observe its end-to-end and per-stage times."""
    from .jobs import stage_durations

    m = _m()
    outcome = job.status
    m.jobs_finished.labels(outcome, job.error_class or "none").inc()
    end = job.done_at or job.failed_at
    if end is not None:
        m.job_seconds.labels(outcome).observe((end - job.created_at).total_seconds())
    for stage, seconds in stage_durations(job).items():
        m.stage_seconds.labels(stage).observe(seconds)
    if outcome == "done" and job.downloading_at is not None and job.done_at is not None:
        m.ready_to_delivered.observe((job.done_at - job.downloading_at).total_seconds())


def credits_moved(kind: str, amount: int) -> None:
    _m().credits.labels(kind).inc(abs(amount))


def video_delivered(size: int) -> None:
    _m().delivered_bytes.inc(size)


@contextlib.contextmanager
def external_call(service: str, operation: str):
    """Time and count one call to ``service``; the outcome is ``ok`` or the error class."""
    from .errors import classify

    m = _m()
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        m.calls.labels(service, operation, classify(exc).error_class).inc()
        raise
    else:
        m.calls.labels(service, operation, "ok").inc()
    finally:
        m.call_seconds.labels(service, operation).observe(time.perf_counter() - started)
