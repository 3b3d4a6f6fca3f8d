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

__all__ = ["prepare_worker_environment", "clear_multiprocess_dir", "WorkerMetrics"]

#: Seconds; wide enough for a 20-minute job and a 1 ms call.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800)
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
FINISH_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


def multiprocess_dir(settings, port: int | None = None) -> Path:
    """The folder a worker group's processes keep their values in: one per
    exposition port (the pipeline's workers and the media workers each have one)."""
    port = port or settings.metrics.worker_port
    return Path(os.environ.get("dramatiq_prom_db") or Path(tempfile.gettempdir()) / f"neurocards-prometheus-{port}")


def prepare_worker_environment(settings, port: int | None = None) -> None:
    """Point Dramatiq's Prometheus middleware and prometheus_client at one folder,
    and bind the exposition server to ``metrics.host`` (Dramatiq's default is
    0.0.0.0, open to the network) on ``port`` (``metrics.worker_port``)."""
    folder = multiprocess_dir(settings, port)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("dramatiq_prom_db", str(folder))
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(folder))
    os.environ.setdefault("dramatiq_prom_host", settings.metrics.host)
    os.environ.setdefault("dramatiq_prom_port", str(port or settings.metrics.worker_port))


def clear_multiprocess_dir(settings, port: int | None = None) -> None:
    """Remove the counters of earlier runs (dramatiq#703: nothing else does)."""
    folder = multiprocess_dir(settings, port)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


class WorkerMetrics:
    """The workers' domain metrics; one per process, made by its context after
    :func:`prepare_worker_environment`.  Values live in the shared multiprocess
    folder, so no registry is needed: the exposition server reads the folder."""

    def __init__(self, registry=None) -> None:
        from prometheus_client import Counter, Histogram

        self.jobs_finished = Counter(
            "neurocards_jobs_finished_total", "Jobs that ended, by outcome and error class.",
            ["outcome", "error_class"], registry=registry,
        )
        self.job_seconds = Histogram(
            "neurocards_job_duration_seconds", "From job start to its end, by outcome.",
            ["outcome"], buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.stage_seconds = Histogram(
            "neurocards_stage_duration_seconds", "Time a job spent in each stage.",
            ["stage"], buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.refusals = Counter(
            "neurocards_refusals_total", "Requests refused for their content, by stage: moderation (before any "
            "charge), prompt (the prompt model), kie (KIE's content policy, after the free retry).",
            ["stage"], registry=registry,
        )
        self.safety_retries = Counter(
            "neurocards_safety_retries_total", "Free retries after KIE refused a prompt on its content policy, "
            "by outcome: started, passed (the retry's task made a video), refused (it was refused again).",
            ["outcome"], registry=registry,
        )
        self.credits = Counter(
            "neurocards_credits_total", "Credits moved through the ledger by the workers, by kind.", ["kind"],
            registry=registry,
        )
        self.calls = Counter(
            "neurocards_external_calls_total", "Calls to external services, by outcome (ok or error class).",
            ["service", "operation", "outcome"], registry=registry,
        )
        self.call_seconds = Histogram(
            "neurocards_external_call_seconds", "Latency of calls to external services.",
            ["service", "operation"], buckets=CALL_BUCKETS, registry=registry,
        )
        self.cost_usd = Counter(
            "neurocards_cost_usd_total", "What KIE's tasks and OpenAI's prompts cost, in USD (economics settings).",
            ["service", "model"], registry=registry)
        self.revenue_usd = Counter(
            "neurocards_revenue_usd_total", "Credits of delivered videos, in USD at the packs' mean price "
            "(economics.usd_per_star).", ["model"], registry=registry)
        self.delivered_bytes = Counter("neurocards_delivered_bytes_total", "Bytes of video sent to sellers.",
                                       registry=registry)
        self.ready_to_delivered = Histogram(
            "neurocards_ready_to_delivered_seconds", "From the video being ready at KIE to it being in the chat.",
            buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.finish_cpu_seconds = Histogram(
            "neurocards_finish_cpu_seconds", "FFmpeg's CPU seconds to finish one video, by preset.",
            ["preset"], buckets=FINISH_BUCKETS, registry=registry,
        )
        self.finish_bytes = Counter(
            "neurocards_finish_bytes_total", "Bytes into finishing (KIE's clips) and out of it, by direction.",
            ["direction"], registry=registry,
        )
        self.finish_fallbacks = Counter(
            "neurocards_finish_fallbacks_total", "Finished videos that took a fallback, by kind (reencoded, raw).",
            ["kind"], registry=registry,
        )
        # Series that exist from the start, so the first increase after a restart
        # shows in rate() and increase() (the refund-ratio alert above all).
        self.jobs_finished.labels("done", "none")
        self.credits.labels("refund")
        for kind in ("reencoded", "raw"):
            self.finish_fallbacks.labels(kind)

    def video_finished(self, preset: str, fallback: str, cpu_s: float, bytes_in: int, bytes_out: int) -> None:
        """One clip finished for ``preset`` (the finish stage's own time is a stage duration)."""
        self.finish_cpu_seconds.labels(preset).observe(cpu_s)
        self.finish_bytes.labels("in").inc(bytes_in)
        self.finish_bytes.labels("out").inc(bytes_out)
        if fallback:
            self.finish_fallbacks.labels(fallback).inc()

    def cost(self, service: str, model: str, usd: float) -> None:
        """What an outside service charged for a job's work (KIE's task, OpenAI's prompt)."""
        if usd:
            self.cost_usd.labels(service, model).inc(usd)

    def job_finished(self, job) -> None:
        """Count a job that just ended and observe its end-to-end and per-stage times."""
        from .models import stage_durations

        outcome = job.status
        self.jobs_finished.labels(outcome, job.error_class or "none").inc()
        end = job.done_at or job.failed_at
        if end is not None:
            self.job_seconds.labels(outcome).observe((end - job.created_at).total_seconds())
        for stage, seconds in stage_durations(job).items():
            self.stage_seconds.labels(stage).observe(seconds)
        if outcome == "done" and job.downloading_at is not None and job.done_at is not None:
            self.ready_to_delivered.observe((job.done_at - job.downloading_at).total_seconds())

    def credits_moved(self, kind: str, amount: int) -> None:
        self.credits.labels(kind).inc(abs(amount))

    def video_delivered(self, size: int) -> None:
        self.delivered_bytes.inc(size)

    @contextlib.contextmanager
    def external_call(self, service: str, operation: str):
        """Time and count one call to ``service``; the outcome is ``ok`` or the error class."""
        from .errors import classify

        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            self.calls.labels(service, operation, classify(exc).error_class).inc()
            raise
        else:
            self.calls.labels(service, operation, "ok").inc()
        finally:
            self.call_seconds.labels(service, operation).observe(time.perf_counter() - started)
