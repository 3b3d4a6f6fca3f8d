"""Stage 4: stream the finished mp4 to storage (size cap, content check, atomic rename)."""

from __future__ import annotations

from neurocards import jobs, services
from neurocards.metrics import external_call
from neurocards.models import JobStatus
from neurocards.pipeline import job_to_work_on, message_token, pipeline_actor
from neurocards.settings import get_settings

_settings = get_settings()


@pipeline_actor(time_limit_s=_settings.pipeline.download_time_limit_s)
def download_video(job_id: str) -> None:
    job = job_to_work_on(job_id, (JobStatus.DOWNLOADING,), moved_to=JobStatus.DELIVERING, next_actor=deliver_video)
    if job is None:
        return
    storage = services.storage()
    path = storage.video_path(job.id)
    with external_call("kie", "download"):
        size = storage.download_video(job.result_url, path, timeout_s=_settings.pipeline.download_time_limit_s)
    if jobs.advance(job.id, JobStatus.DOWNLOADING, JobStatus.DELIVERING, message_token(),
                    video_path=str(path), video_bytes=size):
        deliver_video.send(job_id)
        notify_user.send(job_id, "progress")


from .deliver_video import deliver_video  # noqa: E402
from .notify_user import notify_user  # noqa: E402
