"""Starting a job from the bot: checks, debit, status message, first pipeline message.

Handlers call :func:`start_generation` and turn its exceptions into answers:
``InsufficientCredits`` and ``TooManyJobsInFlight`` (nothing was written) or
``PhotoProblem`` (the photo was refused before anything was charged).  Every
database, disk and Redis call runs in a thread, never on the event loop, and
no transaction spans an ``await``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from aiogram import Bot

from .. import jobs
from ..clients.prompt_writer import ContentFiltered, Image, ModelRefused, Written
from ..context import Context
from ..dispatch import ActorName
from ..errors import classify
from ..jobs import eta, formats, photos
from ..jobs.formats import Choice
from ..keyboards import status_keyboard
from ..limits import kie_balance
from ..logs import job_logger
from ..models import Job, JobStatus, User
from ..texts import CATALOGUES, text
from .photos import PhotoProblem, inspect_image

__all__ = ["Request", "start_generation", "launch", "announce", "download_photo", "NewPhoto", "JOB_IDS",
           "refused_description", "refused_text", "prompt_before_charge"]

logger = logging.getLogger("neurocards.bot.flow")

#: Namespace of job ids derived from the update that started them (a redelivered
#: update starts the same job, not a second one).
JOB_IDS = uuid.UUID("5b7f3c1e-8a43-4d0e-9c56-6f2f8e1d2a90")


class NewPhoto(NamedTuple):
    """A photo fetched from Telegram, not yet checked or stored."""

    data: bytes
    file_id: str


class Request:
    """What every way of starting a job needs: the process context, the bot, who asks."""

    def __init__(self, context: Context, bot: Bot, seller: User, lang: str, metrics) -> None:
        self.context = context
        self.settings = context.settings
        self.bot = bot
        self.seller = seller
        self.lang = lang
        self.metrics = metrics


async def download_photo(bot: Bot, file_id: str) -> bytes:
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


async def start_generation(
    context: Context,
    bot: Bot,
    user: User,
    chat_id: int,
    product_info: str,
    *,
    photo_file_id: str = "",
    photo_bytes: bytes | None = None,
    stored_photo: str = "",
    parent: Job | None = None,
    job_id: uuid.UUID | None = None,
    on_debit=None,
    choice: Choice | None = None,
    refinish: bool = False,
    more_photos: Sequence[NewPhoto | photos.Photo] = (),
    style: str | None = None,
    brief: str = "",
    written: Written | None = None,
) -> Job:
    """Create the job (its price debited) and send it down the pipeline.

    The photo comes as bytes already fetched, as a file already in storage
    (``stored_photo``: a request kept while the seller topped up), or from
    ``parent`` ("Generate again": the same photo, no new download).  ``job_id``
    makes a retried start (the same update delivered twice) start one job.
    The job is made in ``choice`` (a tier and format, at the price shown to
    the seller), else in its parent's, else in the seller's "Options".
    ``refinish``: ``choice`` is cut from ``parent``'s clip, free, with no new
    KIE task (:func:`neurocards.jobs.formats.refinishes` says when it can be).
    ``more_photos``: the product's other photos (fetched, or already in storage);
    ``style``: the style's name (None: the parent's, else the seller's last);
    ``brief``: the idea the seller picked; ``written``: its prompt, written before
    the charge (the pipeline then skips writing it).
    """
    if style is None:
        style = parent.style if parent is not None else user.style
    job, created = await asyncio.to_thread(
        _create_job, context, user, chat_id, product_info, photo_file_id, photo_bytes, stored_photo, parent,
        job_id or uuid.uuid4(), choice, refinish, more_photos, style, brief if parent is None else parent.brief,
        written,
    )
    if not created:
        return job  # this update was handled before
    if on_debit is not None:
        on_debit(job.price)
    await launch(context, bot, job)
    return job


async def refused_description(context: Context, info: str, on_refused=None) -> tuple[str, ...] | None:
    """What OpenAI's moderation flags in the seller's description (issue 21), checked
    before anything is charged; None when it passes, or when the check could not be
    made (an outage must not stop sellers: the pipeline's own refusals still refund)."""
    if not info or not context.settings.openai.moderation:
        return None
    try:
        verdict = await asyncio.to_thread(context.moderator.check, info)
    except Exception as exc:
        logger.warning("moderation unavailable (%s); the description goes on unchecked", type(exc).__name__)
        return None
    if not verdict.flagged:
        return None
    if on_refused is not None:
        on_refused()
    return verdict.categories or ("other",)


async def prompt_before_charge(context: Context, photo: NewPhoto, more: Sequence[NewPhoto], info: str, style: str,
                               brief: str, on_refused=None) -> Written | bool | None:
    """The video prompt, written before anything is charged (``openai.prompt_before_charge``):
    a photo the prompt model refuses costs the seller nothing (issue 21).  False when it
    refused; None when it could not be written now (an outage, a slow answer: the
    pipeline writes it, with its retries and fallback, as before)."""
    settings = context.settings
    if not settings.openai.prompt_before_charge:
        return None
    found = settings.styles.find(style)
    try:
        mime = inspect_image(photo.data).mime_type
        images = [Image(p.data, inspect_image(p.data).mime_type) for p in more]
        return await asyncio.wait_for(context.prompt_writer.awrite(
            photo.data, mime, info, more_images=images, style=found.guidance if found else "", brief=brief),
            timeout=settings.openai.prompt_before_charge_timeout_s)
    except PhotoProblem:
        raise
    except Exception as exc:
        if isinstance(exc, (ModelRefused, ContentFiltered)) or classify(exc).error_class == "content_policy":
            if on_refused is not None:
                on_refused()
            return False
        logger.warning("prompt not written before the charge (%s); the pipeline writes it", type(exc).__name__)
        return None


def refused_text(lang: str, categories: tuple[str, ...]) -> str:
    """"Nothing charged: the description didn't pass (violence); rewrite it"."""
    names = dict.fromkeys(category.split("/")[0] for category in categories)
    what = ", ".join(text(lang, f"moderation.{name}") if f"moderation.{name}" in CATALOGUES[lang]
                     else text(lang, "moderation.other") for name in names)
    return text(lang, "moderation.refused", what=what)


def tier_closed_text(lang: str, closed: kie_balance.TierClosed) -> str:
    """What a seller reads when the tier they chose can't be made now (nothing charged)."""
    other = (text(lang, "tier.closed.other", other=formats.tier_label(lang, closed.open_tier))
             if closed.open_tier else text(lang, "tier.closed.none"))
    key = "tier.closed.failing" if closed.reason == "failing" else "tier.closed"
    return text(lang, key, tier=formats.tier_label(lang, closed.tier)) + " " + other


async def launch(context: Context, bot: Bot, job: Job) -> None:
    """Show a new job's status message and send it down the pipeline (a job created
    elsewhere, e.g. an operator's free re-run, starts here too); a job cut from
    its parent's clip starts at finishing."""
    await _send_status_message(context, bot, job)
    first = ActorName.FINISH_VIDEO if job.status == JobStatus.FINISHING else ActorName.ENHANCE_PROMPT
    await asyncio.to_thread(context.send, first, str(job.id))


def _create_job(context: Context, user: User, chat_id: int, product_info: str, photo_file_id: str,
                photo_bytes: bytes | None, stored_photo: str, parent: Job | None, job_id: uuid.UUID,
                choice: Choice | None, refinish: bool = False, more_photos: Sequence = (), style: str = "",
                brief: str = "", written: Written | None = None) -> tuple[Job, bool]:
    """Store the photos and create the job with its debit (in a thread)."""
    settings = context.settings
    if choice is None:
        choice = formats.job_choice(settings, parent) if parent is not None else formats.seller_choice(settings, user)
    if parent is not None:
        photo_path, photo_file_id = parent.photo_path, parent.photo_file_id
    elif stored_photo:
        photo_path = stored_photo
    else:
        info = inspect_image(photo_bytes or b"")
        photo_path = str(context.storage.save_photo(job_id, photo_bytes, info.suffix))
    more: list[photos.Photo] = []
    try:
        if parent is None:
            more = _stored(context, job_id, more_photos)
        if not refinish and not Job.select().where(Job.id == job_id).exists():  # (a re-cut makes no KIE task;
            kie_balance.check(context.redis, settings, choice.tier, formats.tiers(settings))  # a replay, no new job)
        return jobs.start_job(
            user_id=user.id,
            chat_id=chat_id,
            product_info=product_info,
            language=user.language,
            price=0 if refinish else choice.price,
            max_in_flight=settings.telegram.max_jobs_in_flight,
            photo_path=photo_path,
            photo_file_id=photo_file_id,
            parent=parent,
            job_id=job_id,
            tier=choice.tier.name,
            model=choice.model,
            aspect_ratio=choice.aspect_ratio,
            preset=choice.preset,
            refinish=refinish,
            debit_reason=f"another format of job {parent.id}, cut from its clip" if refinish else "",
            more_photos=more,
            style=style if context.settings.styles.find(style) else "",
            brief=brief,
            written=written,
        )
    except Exception:
        if parent is None and not stored_photo:
            for path in (photo_path, *(photo.path for photo in more)):
                Path(path).unlink(missing_ok=True)
        raise


def _stored(context: Context, job_id: uuid.UUID, more_photos: Sequence) -> list[photos.Photo]:
    """The product's other photos in storage: the ones just fetched checked and saved
    (``<job>-<n>``), the ones kept for a top-up as they are."""
    stored = []
    for position, photo in enumerate(more_photos[: photos.MAX_PHOTOS - 1], start=1):
        if isinstance(photo, NewPhoto):
            suffix = inspect_image(photo.data).suffix
            photo = photos.Photo(str(context.storage.save_photo(f"{job_id}-{position}", photo.data, suffix)),
                                 photo.file_id)
        stored.append(photo)
    return stored


async def announce(context: Context, bot: Bot, job: Job) -> None:
    """The status message of a job made elsewhere (a batch's), without starting it."""
    await _send_status_message(context, bot, job)


async def _send_status_message(context: Context, bot: Bot, job: Job) -> None:
    """The message the workers edit as the job moves; the job goes on without it."""
    shown = await asyncio.to_thread(eta.status_text, job, context.settings)
    try:
        message = await bot.send_message(job.chat_id, shown, reply_markup=status_keyboard(job.language, job.id))
    except Exception:
        job_logger(job.id, logger.name).warning("status message not sent", exc_info=True)
        return
    await asyncio.to_thread(jobs.set_status_message, job.id, message.message_id)
