"""What the seller reads about a job: the status line and the failure message."""

from __future__ import annotations

from ..errors import TRY_AGAIN_HELPS
from ..models import Job
from ..texts import failure_key, one_line, text
from . import formats

__all__ = ["status_text", "failure_text", "info_label"]

#: How much of the product info the status line quotes.
INFO_LABEL_CHARS = 60


def info_label(job: Job) -> str:
    info = one_line(job.product_info, INFO_LABEL_CHARS)
    return info or text(job.language, "no_info")


def status_text(job: Job) -> str:
    return text(job.language, f"status.{job.status}", info=info_label(job),
                format=formats.format_label(job.language, job.aspect_ratio or formats.ASPECT_RATIOS[0]))


def failure_text(job: Job, support: str) -> str:
    return text(job.language, failure_key(job.error_class), support=support)


def try_again_helps(job: Job) -> bool:
    return job.error_class in TRY_AGAIN_HELPS
