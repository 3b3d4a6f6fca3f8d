"""Stage 4: stream KIE's mp4 to storage (size cap, content check, atomic rename),
then hand it to finishing."""

from __future__ import annotations

from neurocards import jobs
from neurocards.dispatch import ActorName
from neurocards.jobs.pipeline import current_message_id, job_to_work_on
from neurocards.models import JobStatus

from . import context, declare

_settings = context.settings


@declare.stage(time_limit_s=_settings.pipeline.download_time_limit_s)
def download_video(job_id: str) -> None:
    job = job_to_work_on(job_id, (JobStatus.DOWNLOADING,), moved_to=JobStatus.FINISHING,
                         send_next=lambda: context.send(ActorName.FINISH_VIDEO, job_id))
    if job is None:
        return
    path = context.storage.video_path(job.id)
    with context.metrics.external_call("kie", "download"):
        size = context.storage.download_video(job.result_url, path, timeout_s=_settings.pipeline.download_time_limit_s)
    if jobs.advance(job.id, JobStatus.DOWNLOADING, JobStatus.FINISHING, current_message_id(),
                    video_path=str(path), video_bytes=size):
        context.send(ActorName.FINISH_VIDEO, job_id)
        context.send(ActorName.SHOW_STATUS, job_id)
