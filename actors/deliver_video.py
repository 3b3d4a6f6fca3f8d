"""Stage 5: send the stored video to the seller with "Generate again".

Up to ``pipeline.delivery_attempts`` sends of the same stored file, waiting what
Telegram's ``retry_after`` says; a failed send never regenerates the video.  A
seller who blocked the bot (403) is marked, and the dead-letter middleware
fails the job and refunds it.
"""

from __future__ import annotations

from aiogram.types import FSInputFile

from neurocards import credits, jobs, limits, metrics, services
from neurocards.bot.keyboards import again_keyboard
from neurocards.models import Job, JobStatus
from neurocards.pipeline import defer, delivery_token, message_token, pipeline_actor
from neurocards.settings import get_settings
from neurocards.status import info_label
from neurocards.texts import text

_settings = get_settings()

#: How long to wait for a Telegram send slot (1/s per chat, 30/s overall).
SEND_SLOT_WAIT_S = 1.0


@pipeline_actor(
    time_limit_s=_settings.pipeline.deliver_time_limit_s,
    max_retries=_settings.pipeline.delivery_attempts - 1,
)
async def deliver_video(job_id: str) -> None:
    job = jobs.get_job(job_id)
    if job is None or job.status != JobStatus.DELIVERING:
        return
    if not limits.try_acquire(limits.telegram_chat(job.chat_id), limits.telegram_global()):
        defer(deliver_video, job_id, delay_s=SEND_SLOT_WAIT_S)
        return
    claim = delivery_token()
    if not jobs.claim(job.id, JobStatus.DELIVERING, "deliver", claim):
        return  # a duplicate of this message is sending the video
    try:
        message_id, file_id = await _send(job)
    except BaseException:
        jobs.release(job.id, "deliver", claim)
        raise
    if jobs.advance(job.id, JobStatus.DELIVERING, JobStatus.DONE, message_token(),
                    video_message_id=message_id, video_file_id=file_id):
        notify_user.send(job_id, "progress")
        metrics.video_delivered(job.video_bytes)
        metrics.job_finished(jobs.get_job(job_id))


async def _send(job: Job) -> tuple[int, str]:
    jobs.update_in_state(job.id, JobStatus.DELIVERING, delivery_attempts=Job.delivery_attempts + 1)
    with metrics.external_call("telegram", "send_video"):
        message = await services.telegram_bot().send_video(
            chat_id=job.chat_id,
            video=FSInputFile(job.video_path, filename="video.mp4"),
            caption=text(job.language, "video.caption", info=info_label(job), balance=credits.balance_of(job.user_id)),
            reply_markup=again_keyboard(job.language, job.id),
            supports_streaming=True,
        )
    return message.message_id, message.video.file_id if message.video else ""


from .notify_user import notify_user  # noqa: E402
