"""Batches (issue 21): several videos at one confirmation — an album of 4-10
photos (a video per product), or "several videos of this product" (2-5, each in
another look).

The offer says N videos × price = total and the balance; the one confirmation
makes and debits them all in one transaction (:mod:`neurocards.jobs.batches`)
or, the balance short, none, with "Buy credits" beside it: once topped up, the
same button goes on.  A confirmation sent twice makes the batch once; one made
after the price changed is offered again at the new price.  Each video's prompt is
written before the charge: one the prompt model refuses is left out, named and
not charged.  Each video is a
normal job with its status line; one summary message counts them as they end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import NamedTuple

from aiogram import Bot, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from ...context import Context
from ...dispatch import ActorName
from ...jobs import batches, formats, photos
from ...keyboards import ConfirmBatch, SeveralVideos, batch_keyboard, buy_keyboard, several_keyboard
from ...limits import kie_balance
from ...limits.kie_balance import TierClosed
from ...models import User
from ...money import credits
from ...money.credits import InsufficientCredits
from ...texts import text
from ..flow import (
    JOB_IDS,
    NewPhoto,
    Request,
    announce,
    download_photo,
    prompt_before_charge,
    refused_description,
    refused_text,
    tier_closed_text,
)
from ..metrics import BotMetrics
from ..photos import PhotoProblem, inspect_image
from ..states import NewJob

router = Router(name="batch")

#: "Several videos of this product": at most this many, each in another look.
MOST_LOOKS = 5


async def offer_album(message: Message, request: Request, state: FSMContext, file_ids: list[str], info: str,
                      photo: int) -> None:
    """An album of 4-10 photos: a video for each, at one confirmation (or the first three as one product)."""
    limit = request.settings.telegram.max_product_info_chars
    if len(info) > limit:
        await state.clear()
        await message.answer(text(request.lang, "info_too_long", length=len(info), limit=limit))
        return
    refused = await refused_description(request.context, info, request.metrics.refusals.labels("moderation").inc)
    if refused:  # nothing offered, nothing charged: the album again, with another caption
        await state.clear()
        await message.answer(text(request.lang, "batch.caption_refused") + "\n" + refused_text(request.lang, refused))
        return
    await state.set_state(NewJob.batch)
    await state.set_data({"kind": "album", "photo_file_ids": file_ids, "photo_message_id": photo, "info": info})
    await _offer(message, request, photo, len(file_ids), as_one=True)


async def _offer(message: Message, request: Request, photo: int, count: int, *, as_one: bool = False,
                 looks: str = "") -> None:
    price = formats.seller_choice(request.settings, request.seller).price
    balance = await asyncio.to_thread(credits.balance_of, request.seller.id)
    key = "batch.offer.looks" if looks else "batch.offer.album"
    await message.answer(text(request.lang, key, count=count, price=price, total=count * price, balance=balance,
                              looks=looks),
                         reply_markup=batch_keyboard(request.lang, photo, count, count * price, as_one=as_one))


def looks_for(settings, last: str, count: int) -> list[str]:
    """``count`` different looks, the seller's last first, then the catalogue's order."""
    names = [style.name for style in settings.styles.catalogue]
    ordered = ([last] if last in names else []) + [name for name in names if name != last]
    return (ordered * count)[:count] if ordered else [""] * count


@router.callback_query(SeveralVideos.filter(), StateFilter(NewJob.style))
async def several_videos(query: CallbackQuery, callback_data: SeveralVideos, context: Context, bot: Bot,
                         seller: User, lang: str, state: FSMContext, metrics: BotMetrics,
                         callback_answer: CallbackAnswer) -> None:
    """"Several videos of this product": how many, then the offer."""
    data = await state.get_data()
    if data.get("photo_message_id") != callback_data.photo:
        callback_answer.text = text(lang, "style.stale")
        return
    if callback_data.count == 0:
        await query.message.edit_text(text(lang, "batch.how_many"),
                                      reply_markup=several_keyboard(lang, callback_data.photo, MOST_LOOKS))
        return
    if not 2 <= callback_data.count <= MOST_LOOKS:  # forged
        callback_answer.text = text(lang, "callback.unknown")
        return
    request = Request(context, bot, seller, lang, metrics)
    looks = looks_for(context.settings, seller.style, callback_data.count)
    await state.set_state(NewJob.batch)
    await state.update_data(kind="looks", looks=looks)
    labels = ", ".join(_look_label(context.settings, lang, name) for name in looks)
    await query.message.edit_text(text(lang, "batch.several", count=callback_data.count))
    await _offer(query.message, request, callback_data.photo, callback_data.count, looks=labels)


def _look_label(settings, lang: str, name: str) -> str:
    style = settings.styles.find(name)
    return style.label(lang) if style else text(lang, "style.none")


@router.callback_query(ConfirmBatch.filter(), StateFilter(NewJob.batch))
async def confirm(query: CallbackQuery, callback_data: ConfirmBatch, context: Context, bot: Bot, seller: User,
                  lang: str, state: FSMContext, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    data = await state.get_data()
    if data.get("photo_message_id") != callback_data.photo or callback_data.count != _size(data):
        callback_answer.text = text(lang, "batch.stale")
        return
    request = Request(context, bot, seller, lang, metrics)
    choice = formats.seller_choice(context.settings, seller)
    if choice.price * callback_data.count != callback_data.total:  # the price changed since the offer
        await query.message.answer(text(lang, "batch.price_changed"))
        looks = ", ".join(_look_label(context.settings, lang, name) for name in data.get("looks", []))
        await _offer(query.message, request, callback_data.photo, callback_data.count,
                     as_one=data["kind"] == "album", looks=looks)
        return
    key = f"batch:{query.message.chat.id}:{callback_data.photo}"
    try:
        await asyncio.to_thread(kie_balance.check, context.redis, context.settings, choice.tier,
                                formats.tiers(context.settings))
        if await asyncio.to_thread(batches.made, key):  # a twin confirmation got there first (its debits are in)
            callback_answer.text = text(lang, "batch.already")
            return
        balance = await asyncio.to_thread(credits.balance_of, seller.id)
        if balance < callback_data.total:  # no prompts written for a batch that can't be paid
            raise InsufficientCredits(seller.id, balance, callback_data.total)
        videos, refused = await _with_prompts(request, await _videos(request, data, key))
        if not videos:  # the prompt model would make none of them: nothing charged
            await state.clear()
            await query.message.answer(text(lang, "batch.all_refused"))
            return
        batch, made, created = await asyncio.to_thread(
            batches.start_batch, key=key, user_id=seller.id, chat_id=query.message.chat.id, language=lang,
            videos=videos, price=choice.price, tier=choice.tier.name, model=choice.model,
            aspect_ratio=choice.aspect_ratio, preset=choice.preset)
    except InsufficientCredits as short:
        await query.message.answer(text(lang, "batch.no_credits", total=short.needed, balance=short.balance),
                                   reply_markup=buy_keyboard(lang))
        return  # the offer stands: topped up, the same button goes on
    except TierClosed as closed:
        await query.message.answer(tier_closed_text(lang, closed))
        return
    except PhotoProblem as problem:
        await state.clear()
        await query.message.answer(text(lang, problem.key, **problem.values))
        return
    await state.clear()
    if not created:
        callback_answer.text = text(lang, "batch.already")
        return
    metrics.debited(choice.price * len(made))
    # paid: started first, whatever happens to the messages below (the watchdog starts it too, later)
    await asyncio.to_thread(context.send, ActorName.LAUNCH_BATCH, batch.id)
    await query.message.edit_text(text(lang, "batch.started", count=len(made), total=choice.price * len(made)))
    if refused:
        await query.message.answer(text(lang, "batch.some_refused", numbers=", ".join(map(str, refused))))
    summary = await bot.send_message(query.message.chat.id, text(lang, "batch.summary", done=0, size=len(made)))
    await asyncio.to_thread(batches.remember_summary, batch.id, summary.message_id)
    for job in made:
        await announce(context, bot, job)
    await asyncio.to_thread(context.send, ActorName.SHOW_BATCH, batch.id)  # some may have ended meanwhile


def _size(data: dict) -> int:
    return len(data["looks"]) if data.get("kind") == "looks" else len(data.get("photo_file_ids", []))


class _Video(NamedTuple):
    """One of the batch's videos before the charge: the job, and the photos its prompt is written from."""

    job: batches.BatchJob
    first: NewPhoto
    more: list[NewPhoto]


async def _videos(request: Request, data: dict, key: str) -> list[_Video]:
    """What each of the batch's videos is made from, its photos fetched and stored."""
    storage, info = request.context.storage, data["info"]
    if data["kind"] == "album":  # a video per photo, each its own product
        videos = []
        for number, file_id in enumerate(data["photo_file_ids"]):
            job_id = uuid.uuid5(JOB_IDS, f"{key}:{number}")
            path, photo = await _stored(request, storage, job_id, file_id)
            videos.append(_Video(batches.BatchJob(job_id, info, path, file_id), photo, []))
        return videos
    first_id, *more_ids = data["photo_file_ids"]
    base = uuid.uuid5(JOB_IDS, f"{key}:photos")
    first_path, first = await _stored(request, storage, base, first_id)
    stored_more = [await _stored(request, storage, f"{base}-{n}", file_id) for n, file_id in enumerate(more_ids, 1)]
    more = [photos.Photo(path, photo.file_id) for path, photo in stored_more]
    return [_Video(batches.BatchJob(uuid.uuid5(JOB_IDS, f"{key}:{number}"), info, first_path, first_id, more,
                                    style=look), first, [photo for _, photo in stored_more])
            for number, look in enumerate(data["looks"])]  # one product: its photos shared by every look


async def _stored(request: Request, storage, name, file_id: str) -> tuple[str, NewPhoto]:
    data = await download_photo(request.bot, file_id)
    suffix = (await asyncio.to_thread(inspect_image, data)).suffix
    return str(await asyncio.to_thread(storage.save_photo, name, data, suffix)), NewPhoto(data, file_id)


#: Prompts written at once for a batch before its charge (a batch is at most ten).
PROMPTS_AT_ONCE = 4


async def _with_prompts(request: Request, videos: list[_Video]) -> tuple[list[batches.BatchJob], list[int]]:
    """Each video's prompt written before the charge, a few at once (``openai.prompt_before_charge``):
    the jobs to make, and the numbers (from 1) of those the prompt model refused, left out
    and not charged.  A prompt not written now (an outage, a slow answer) is the pipeline's."""
    gate = asyncio.Semaphore(PROMPTS_AT_ONCE)
    refused = request.metrics.refusals.labels("prompt").inc

    async def written(video: _Video):
        async with gate:
            return await prompt_before_charge(request.context, video.first, video.more, video.job.product_info,
                                              video.job.style, video.job.brief, refused)

    results = await asyncio.gather(*(written(video) for video in videos))
    jobs = [dataclasses.replace(video.job, written=result) for video, result in zip(videos, results)
            if result is not False]
    return jobs, [number for number, result in enumerate(results, start=1) if result is False]


@router.callback_query(ConfirmBatch.filter())
async def confirm_too_late(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    """A batch already made (confirmed twice), or an offer no longer standing."""
    callback_answer.text = text(lang, "batch.stale")


@router.callback_query(SeveralVideos.filter())
async def several_too_late(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = text(lang, "style.stale")
