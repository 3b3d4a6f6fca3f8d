"""Local storage is a cache (DESIGN §13): a stage that needs the seller's photo or
the finished video and doesn't find it on this host fetches it again — the
photo from Telegram by its ``file_id``, the video from KIE's result URL (valid
for 14 days) — into this host's storage, so bot and workers can run on hosts
that share PostgreSQL and Redis and no disk.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import Kind, PipelineError
from ..logs import job_logger
from ..models import Job

__all__ = ["local_photo", "local_video"]

logger = logging.getLogger(__name__)


def local_photo(context, job: Job) -> Path:
    """The job's photo on this host: where it was stored, or fetched again."""
    stored = Path(job.photo_path) if job.photo_path else None
    if stored is not None and stored.is_file():
        return stored
    suffix = stored.suffix if stored is not None and stored.suffix else ".jpg"
    here = context.storage.photo_path(job.id, suffix)
    if here.is_file():
        return here
    if not job.photo_file_id:
        raise PipelineError("photo_missing", f"photo {job.photo_path!r} is not on this host and has no file_id")
    job_logger(job.id).info("photo not on this host; fetching it from Telegram")
    try:
        with context.metrics.external_call("telegram", "get_file"):
            data = context.telegram_files.download(job.photo_file_id)
    except Exception as exc:
        from ..clients.telegram_files import TelegramFileError

        if isinstance(exc, TelegramFileError):
            raise PipelineError("photo_missing", str(exc), kind=Kind.USER) from None
        raise
    return context.storage.save_photo(job.id, data, suffix)


def local_video(context, job: Job) -> Path:
    """The job's video on this host: where it was downloaded, or downloaded again from KIE."""
    stored = Path(job.video_path) if job.video_path else None
    if stored is not None and stored.is_file():
        return stored
    here = context.storage.video_path(job.id)
    if here.is_file():
        return here
    job_logger(job.id).info("video not on this host; downloading it again from KIE")
    with context.metrics.external_call("kie", "download"):
        context.storage.download_video(job.result_url, here,
                                       timeout_s=context.settings.pipeline.download_time_limit_s)
    return here
