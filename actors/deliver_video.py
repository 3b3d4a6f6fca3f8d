"""Stage 6: send the finished video to the seller with "Generate again".

Up to ``pipeline.delivery_attempts`` sends of the same stored file, waiting what
Telegram's ``retry_after`` says; a failed send never regenerates the video (a
host that doesn't have the file downloads it again from KIE's result URL).  A
seller who blocked the bot (403) is marked, and the dead-letter middleware
fails the job and refunds it.  The database work runs on this worker thread;
only the upload itself runs on Dramatiq's event loop.

A finished file Telegram will not take as a video goes as a document; one over
Telegram's upload cap (``telegram.upload_limit_mb``), or refused as a document
too, goes as a signed download link that expires (:mod:`neurocards.media.links`):
a video that exists is never refunded for its size (issue 20).

A video Telegram accepted is never sent again because recording it failed (the
database away, a time limit): its ids are noted in Redis first
(:mod:`neurocards.jobs.sent_videos`), and a later delivery of this job — the
message's retry, or the watchdog's — records them instead of sending.
"""

from __future__ import annotations

import logging

import redis
from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge
from aiogram.types import FSInputFile

from neurocards import jobs
from neurocards.dispatch import ActorName
from neurocards.jobs import Claim, sent_videos
from neurocards.jobs.pipeline import current_delivery_id, current_message_id, on_event_loop, record_effect
from neurocards.jobs.status import info_label
from neurocards.keyboards import again_keyboard
from neurocards.limits.budgets import try_acquire
from neurocards.media import links
from neurocards.media.local import FinishedVideo, local_finished
from neurocards.models import Job, JobStatus
from neurocards.money import credits, economics
from neurocards.texts import text

from . import context, declare
from .launch_batch import after_job_ended

_policy = context.settings.pipeline

#: The upload reads the file in chunks of this size, each read a trip to a
#: thread of the event loop's executor (aiogram's default, 64 KB, makes 16 per MB).
UPLOAD_CHUNK_BYTES = 1024 * 1024

logger = logging.getLogger(__name__)


@declare.stage(time_limit_s=_policy.deliver_time_limit_s, max_retries=_policy.delivery_attempts - 1)
def deliver_video(job_id: str) -> None:
    sent = sent_videos.find(context.redis, job_id)  # (before the database: it may be what is away)
    if sent is not None:  # an earlier delivery sent it and could not record it
        logger.warning("video already in the chat (message %s); recording it, not sending again", sent[0])
        _record_sent(job_id, *sent)
        return
    job = jobs.get_job(job_id)
    if job is None or job.status != JobStatus.DELIVERING:
        return
    slot = try_acquire(*context.budgets.telegram_send(job.chat_id))
    if not slot:  # back exactly when the chat's and the bot's slots allow
        declare.defer(delay_s=slot.wait_s)
        return
    delivery_id = current_delivery_id()
    # the claim and this attempt's count, in one write
    if not jobs.claim(job.id, JobStatus.DELIVERING, Claim.SEND, delivery_id,
                      delivery_attempts=Job.delivery_attempts + 1):
        return  # a duplicate of this message is sending the video
    try:
        video = local_finished(context, job)
        caption = text(job.language, "video.caption", info=info_label(job), balance=credits.balance_of(job.user_id))
        with context.metrics.external_call("telegram", "send_video"):
            sent = on_event_loop(_send, job, video, caption)
    except BaseException:
        jobs.release(job.id, Claim.SEND, delivery_id)
        raise
    if sent.delivered_as != "video":
        logger.warning("video of %d bytes delivered as a %s", video.probe.size, sent.delivered_as)
    try:
        sent_videos.note(context.redis, job.id, *sent)
    except redis.RedisError:  # the database record below is what counts; this was the safety net
        logger.warning("could not note the sent video in Redis", exc_info=True)
    _record_sent(job_id, *sent)


def _record_sent(job_id: str, message_id: int, file_id: str, delivered_as: str = "video") -> None:
    """The job is done with the video Telegram accepted (a database outage waited
    out).  A job failed meanwhile — its sender taken for dead — is done after
    all, its refund reversed: never both a video and a refund."""
    video = {"video_message_id": message_id, "video_file_id": file_id, "delivered_as": delivered_as}
    if record_effect(jobs.advance, job_id, JobStatus.DELIVERING, JobStatus.DONE, current_message_id(), **video):
        _delivered(job_id)
        return
    job = jobs.get_job(job_id)
    if job is not None and job.status == JobStatus.FAILED:
        reversal = record_effect(jobs.undo_failure, job_id, **video)
        logger.warning("video delivered to a job already failed: recorded done, refund %s",
                       "reversed" if reversal is not None else "not reversed (none, or already spent)")
        if reversal is not None:
            context.metrics.credits_moved("refund_reversal", reversal.amount)
        _delivered(job_id)


def _delivered(job_id: str) -> None:
    job = jobs.get_job(job_id)
    context.send(ActorName.SHOW_STATUS, job_id)
    after_job_ended(job)
    context.metrics.video_delivered(job.video_bytes)
    context.metrics.job_finished(job)
    if job.price:  # what the seller's credits for it are worth (issue 22: revenue against cost)
        context.metrics.revenue_usd.labels(job.model or context.settings.kie.model).inc(
            job.price * economics.usd_per_credit(context.settings))


#: Words of a Bad Request about the file itself (its type, size, dimensions),
#: not about the chat or the caption: the next way of sending it may pass.
_FILE_REFUSED = ("file", "video", "media", "too big", "too large", "dimension", "thumbnail", "document")


def _file_refused(exc: Exception) -> bool:
    if isinstance(exc, TelegramEntityTooLarge):
        return True
    return isinstance(exc, TelegramBadRequest) and any(word in exc.message.lower() for word in _FILE_REFUSED)


async def _send(job: Job, video: FinishedVideo, caption: str) -> sent_videos.Sent:
    """As a video; else as a document; else as a download link."""
    bot, keyboard = context.telegram_bot(), again_keyboard(job.language, job.id)
    cover = FSInputFile(video.cover, filename="cover.jpg") if video.cover is not None else None
    if video.probe.size <= context.settings.telegram.upload_limit_bytes:
        try:
            probe = video.probe
            message = await bot.send_video(
                chat_id=job.chat_id, video=FSInputFile(video.path, filename="video.mp4", chunk_size=UPLOAD_CHUNK_BYTES),
                width=probe.width, height=probe.height, duration=round(probe.duration_s) or None, thumbnail=cover,
                caption=caption, reply_markup=keyboard, supports_streaming=True,
            )
            return sent_videos.Sent(message.message_id, message.video.file_id if message.video else "", "video")
        except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
            if not _file_refused(exc):
                raise
            logger.warning("Telegram would not take the file as a video (%s); sending it as a document", exc.message)
        try:
            message = await bot.send_document(
                chat_id=job.chat_id,
                document=FSInputFile(video.path, filename="video.mp4", chunk_size=UPLOAD_CHUNK_BYTES),
                thumbnail=cover, caption=caption, reply_markup=keyboard,
            )
            return sent_videos.Sent(message.message_id, message.document.file_id if message.document else "",
                                    "document")
        except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
            if not _file_refused(exc):
                raise
            logger.warning("Telegram would not take the file as a document (%s); sending a link", exc.message)
    link = links.link_text(context.settings, job, video.probe.size)
    message = await bot.send_message(chat_id=job.chat_id, text=caption + "\n\n" + link, reply_markup=keyboard)
    return sent_videos.Sent(message.message_id, "", "link")
