"""Local storage is a cache (DESIGN §13): a stage that needs the seller's photo or
the finished video and doesn't find it on this host fetches it again — the
photo from Telegram by its ``file_id``, the video from KIE's result URL (valid
for 14 days) — into this host's storage, so bot and workers can run on hosts
that share PostgreSQL and Redis and no disk.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from ..errors import Kind, PipelineError
from ..logs import job_logger
from ..models import Job, JobPhoto
from . import ffmpeg, finishing

__all__ = ["local_photo", "local_more_photo", "local_video", "FinishedVideo", "finish_video", "local_finished"]

logger = logging.getLogger(__name__)


def local_photo(context, job: Job) -> Path:
    """The job's (first) photo on this host: where it was stored, or fetched again."""
    return _local(context, job.id, job.id, job.photo_path, job.photo_file_id)


def local_more_photo(context, job: Job, photo: JobPhoto) -> Path:
    """One of the job's other photos (:mod:`neurocards.jobs.photos`) on this host."""
    return _local(context, job.id, f"{job.id}-{photo.position}", photo.path, photo.file_id)


def _local(context, job_id, name, path: str, file_id: str) -> Path:
    stored = Path(path) if path else None
    if stored is not None and stored.is_file():
        return stored
    suffix = stored.suffix if stored is not None and stored.suffix else ".jpg"
    here = context.storage.photo_path(name, suffix)
    if here.is_file():
        return here
    if not file_id:
        raise PipelineError("photo_missing", f"photo {path!r} is not on this host and has no file_id")
    job_logger(job_id).info("photo not on this host; fetching it from Telegram")
    try:
        with context.metrics.external_call("telegram", "get_file"):
            data = context.telegram_files.download(file_id)
    except Exception as exc:
        from ..clients.telegram_files import TelegramFileError

        if isinstance(exc, TelegramFileError):
            raise PipelineError("photo_missing", str(exc), kind=Kind.USER) from None
        raise
    return context.storage.save_photo(name, data, suffix)


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


#: Telegram takes a bot's upload up to 50 MB: KIE's clip as it is, when finishing could not.
TELEGRAM_UPLOAD_BYTES = 50 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class FinishedVideo:
    """The file a job's seller gets, and how it came to be."""

    path: Path
    preset: str
    probe: ffmpeg.Probe
    fallback: str  # "": as the preset asks; "reencoded": made smaller to fit; "raw": KIE's clip as it is
    cover: Path | None
    cpu_s: float = 0.0


def finish_video(context, job: Job) -> FinishedVideo:
    """KIE's clip for ``job`` (downloaded again if this host lacks it) finished
    for the job's preset (:mod:`neurocards.media.finishing`).

    A clip FFmpeg cannot read, or without a picture, fails the job (a refund,
    "try again"); one it can read but not finish in time or under the cap goes
    as it is, if Telegram takes it.
    """
    formats = context.settings.formats
    preset = formats.preset(job.preset, job.aspect_ratio or context.settings.kie.aspect_ratio)
    raw = local_video(context, job)
    try:
        source = ffmpeg.probe(raw)
    except (ffmpeg.FFmpegError, OSError) as exc:
        raise PipelineError("video_invalid", f"KIE's clip cannot be read: {exc}", kind=Kind.SYSTEM) from None
    if not source.has_video:
        raise PipelineError("video_invalid", "KIE's clip has no video stream", kind=Kind.SYSTEM)
    dest = context.storage.finished_path(job.id, preset.name)
    try:
        done = finishing.finish(
            raw, source, dest, aspect_ratio=preset.aspect_ratio, max_width=preset.width,
            max_bytes=int(preset.max_mb * 1024 * 1024), sound=preset.sound,
            fit=formats.fit.get(preset.aspect_ratio, "crop"), x264_preset=formats.x264_preset, crf=formats.crf,
            audio_kbps=formats.audio_kbps, timeout_s=formats.finish_timeout_s, nice=formats.nice,
        )
    except ffmpeg.FFmpegError as exc:
        if source.size > TELEGRAM_UPLOAD_BYTES:
            raise PipelineError("video_too_large", f"finishing failed ({exc}) and the clip is {source.size} bytes",
                                kind=Kind.SYSTEM) from None
        job_logger(job.id).warning("could not finish the clip for %s (%s); sending KIE's clip as it is",
                                   preset.name, exc)
        return FinishedVideo(raw, preset.name, source, "raw", _cover(context, job, raw, preset.name))
    return FinishedVideo(done.path, preset.name, done.probe, done.fallback,
                         _cover(context, job, done.path, preset.name), done.cpu_s)


def _cover(context, job: Job, video: Path, preset: str) -> Path | None:
    """The cover frame, or None when it cannot be taken (the video goes without one)."""
    try:
        return finishing.cover(video, context.storage.cover_path(job.id, preset), nice=context.settings.formats.nice)
    except ffmpeg.FFmpegError as exc:
        job_logger(job.id).info("no cover frame: %s", exc)
        return None


def local_finished(context, job: Job) -> FinishedVideo:
    """The job's finished video on this host: as finishing left it, or made again."""
    path = Path(job.finished_path) if job.finished_path else None
    if path is not None and path.is_file():
        cover = context.storage.cover_path(job.id, job.preset)
        return FinishedVideo(path, job.preset, ffmpeg.probe(path), job.finish_fallback,
                             cover if cover.is_file() else None)
    job_logger(job.id).info("finished video not on this host; finishing KIE's clip again")
    return finish_video(context, job)
