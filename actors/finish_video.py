"""Stage 5: KIE's clip made into the file the seller asked for — their format
exactly, under the preset's size cap, with a cover frame (issue 20).

One concern, on the ``media`` queue: FFmpeg's CPU is served by worker processes
of its own (``neurocards worker --media``), so a burst of encodes never holds up
polls, status edits or sends.  The raw clip stays in storage, so another format
of the same video needs no new KIE task.
"""

from __future__ import annotations

from neurocards import jobs
from neurocards.dispatch import ActorName
from neurocards.jobs.pipeline import current_message_id, job_to_work_on
from neurocards.logs import job_logger
from neurocards.media.local import finish_video as finish
from neurocards.models import JobStatus

from . import context, declare

_settings = context.settings


@declare.stage(time_limit_s=_settings.pipeline.finish_time_limit_s)
def finish_video(job_id: str) -> None:
    job = job_to_work_on(job_id, (JobStatus.FINISHING,), moved_to=JobStatus.DELIVERING,
                         send_next=lambda: context.send(ActorName.DELIVER_VIDEO, job_id))
    if job is None:
        return
    finished = finish(context, job)
    context.metrics.video_finished(finished.preset, finished.fallback, finished.cpu_s, job.video_bytes,
                                   finished.probe.size)
    if finished.fallback:
        job_logger(job_id).warning("finished for %s with a fallback: %s", finished.preset, finished.fallback)
    if jobs.advance(job.id, JobStatus.FINISHING, JobStatus.DELIVERING, current_message_id(), preset=finished.preset,
                    finished_path=str(finished.path), finished_bytes=finished.probe.size,
                    finish_fallback=finished.fallback):
        context.send(ActorName.DELIVER_VIDEO, job_id)
        context.send(ActorName.SHOW_STATUS, job_id)
