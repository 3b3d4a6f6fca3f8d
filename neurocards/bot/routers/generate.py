"""The photo flow: a product photo (or an image sent as a file) with a caption
starts a job at once; without one, the bot asks for a line about the product."""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import uuid

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from ... import users
from ...clients.kie_models import model_spec
from ...clients.prompt_writer import Image
from ...context import Context
from ...jobs import TooManyJobsInFlight, formats, jobs_in_flight, photos
from ...keyboards import (
    NO_STYLE,
    AlbumAsOne,
    PickIdea,
    PickStyle,
    SkipInfo,
    SuggestIdeas,
    buy_keyboard,
    packs_keyboard,
    skip_keyboard,
    styles_keyboard,
)
from ...limits.kie_balance import TierClosed
from ...models import User
from ...money import credits, pending
from ...money.credits import InsufficientCredits
from ...settings import Settings
from ...texts import text
from ..albums import MAX_ITEMS, AlbumCollector, Item, Sorted, sort_out
from ..flow import (
    JOB_IDS,
    NewPhoto,
    Request,
    download_photo,
    prompt_before_charge,
    refused_description,
    refused_text,
    start_generation,
    tier_closed_text,
)
from ..metrics import BotMetrics
from ..photos import PhotoProblem, check_size, inspect_image, suffix_of
from ..states import NewJob
from . import batch

router = Router(name="generate")
logger = logging.getLogger("neurocards.bot.generate")

@router.message(F.media_group_id)
async def take_album_item(message: Message, context: Context, bot: Bot, seller: User, lang: str, state: FSMContext,
                          albums: AlbumCollector, metrics: BotMetrics) -> None:
    """An album's item: kept until the album is complete, then handled as one request."""
    request = Request(context, bot, seller, lang, metrics)

    async def take_album(first: Message, items: list[Item]) -> None:
        await _take_album(first, request, state, sort_out(items))

    async def late_or_failed(late: Message | None) -> None:
        if late is not None:
            await late.answer(text(lang, "album.late"))
        else:
            await message.answer(text(lang, "error.internal", support=context.settings.telegram.support_contact))

    await albums.add(message, take_album, late_or_failed)


@router.message(F.photo)
async def take_photo(message: Message, context: Context, bot: Bot, seller: User, lang: str, state: FSMContext,
                     metrics: BotMetrics) -> None:
    largest = message.photo[-1]
    await _take_image(message, Request(context, bot, seller, lang, metrics), state, largest.file_id,
                      largest.file_unique_id, lambda: check_size(largest.file_size, largest.width, largest.height))


@router.message(F.document)
async def take_document(message: Message, context: Context, bot: Bot, seller: User, lang: str, state: FSMContext,
                        metrics: BotMetrics) -> None:
    document = message.document
    if suffix_of(document.mime_type) is None:
        key = "photo.video" if (document.mime_type or "").startswith("video/") else "photo.wrong_type"
        await message.answer(text(lang, key))
        return
    await _take_image(message, Request(context, bot, seller, lang, metrics), state, document.file_id,
                      document.file_unique_id, lambda: check_size(document.file_size))


async def _take_image(message: Message, request: Request, state: FSMContext, file_id: str, unique_id: str,
                      check) -> None:
    lang = request.lang
    try:
        check()
    except PhotoProblem as problem:
        await message.answer(text(lang, problem.key, **problem.values))
        return
    info = (message.caption or "").strip()
    if await state.get_state() != NewJob.product_info.state:
        await _take_photos(message, request, state, [file_id], info, unique_ids=[unique_id])
        return
    # "Add another photo": one more photo of the product whose description is awaited
    data = await state.get_data()
    earlier = _file_ids(data)
    if len(earlier) >= photos.MAX_PHOTOS:
        await message.answer(text(lang, "photo.full", most=photos.MAX_PHOTOS), reply_markup=skip_keyboard(lang))
        return
    seen = data.get("photo_unique_ids") or []
    digests = data.get("photo_digests") or [await _digest(request.bot, earlier_id) for earlier_id in earlier]
    digest = await _digest(request.bot, file_id)
    if unique_id in seen or digest in digests:  # the same file, or the same picture sent again
        await state.update_data(photo_digests=digests)
        await message.answer(text(lang, "photo.duplicate"), reply_markup=skip_keyboard(lang))
        return
    file_ids = [*earlier, file_id]
    if not info:
        await state.update_data(photo_file_ids=file_ids, photo_unique_ids=[*seen, unique_id],
                                photo_digests=[*digests, digest])
        await message.answer(text(lang, "photo.added", count=len(file_ids), most=photos.MAX_PHOTOS),
                             reply_markup=skip_keyboard(lang))
        return
    await _take_photos(message, request, state, file_ids, info, message_id=data["photo_message_id"],
                       unique_ids=[*seen, unique_id])


async def _take_album(message: Message, request: Request, state: FSMContext, album: Sorted) -> None:
    """A complete album: up to three photos of one product make one job."""
    lang = request.lang
    if album.too_many:
        await message.answer(text(lang, "album.too_many", most=MAX_ITEMS))
        return
    if not album.photos:
        await message.answer(text(lang, "album.videos_only" if album.videos else "album.no_photos"))
        return
    notes = [text(lang, key, count=count) for key, count in (
        ("album.left_out.videos", album.videos), ("album.left_out.others", album.others),
        ("album.left_out.small", album.small), ("album.left_out.duplicates", album.duplicates)) if count]
    if notes:
        await message.answer("\n".join(notes))
    if len(album.photos) > photos.MAX_PHOTOS:  # several products: a video for each, at one confirmation
        await batch.offer_album(message, request, state, [item.file_id for item in album.photos], album.caption,
                                album.photos[0].message_id)
        return
    used = album.photos
    await _take_photos(message, request, state, [item.file_id for item in used], album.caption,
                       message_id=used[0].message_id, unique_ids=[item.file_unique_id for item in used])


async def _take_photos(message: Message, request: Request, state: FSMContext, file_ids: list[str], info: str,
                       *, message_id: int | None = None, unique_ids: list[str] = ()) -> None:
    """Photos of one product, and the seller's line (asked for when missing)."""
    lang = request.lang
    message_id = message_id or message.message_id
    if not info:
        await _ask_for_info(message, lang, state, file_ids, message_id, list(unique_ids))
        return
    if not await _info_fits(message, request.settings, lang, info):
        await _ask_for_info(message, lang, state, file_ids, message_id, list(unique_ids), already_asked=True)
        return
    await _ready(message, request, state, file_ids, info, message_id)


async def _ready(message: Message, request: Request, state: FSMContext, file_ids: list[str], info: str,
                 message_id: int) -> None:
    """Photos and description in hand: the look is picked with one tap (``styles.ask_before_start``),
    or the job starts at once in the seller's last.  A description moderation flags
    is sent back to be rewritten, the photos kept, nothing charged."""
    refused = await refused_description(request.context, info, request.metrics.refusals.labels("moderation").inc)
    if refused:
        await _ask_for_info(message, request.lang, state, file_ids, message_id, [], already_asked=True)
        await message.answer(refused_text(request.lang, refused), reply_markup=skip_keyboard(request.lang))
        return
    catalogue = request.settings.styles.catalogue
    if not (request.settings.styles.ask_before_start and catalogue):
        await state.clear()
        await _generate(message, request, file_ids, info, job_key=f"{message.chat.id}:{message_id}")
        return
    await state.set_state(NewJob.style)
    await state.set_data({"photo_file_ids": file_ids, "photo_message_id": message_id, "info": info})
    price = formats.seller_choice(request.settings, request.seller).price
    await message.answer(text(request.lang, "style.ask", price=price),
                         reply_markup=_picker(request, message_id, ideas=request.settings.styles.ideas))


def _picker(request: Request, photo: int, *, ideas: bool = False, suggested=()):
    return styles_keyboard(request.lang, request.settings.styles.catalogue, _last_style(request), photo,
                           ideas=ideas, suggested=suggested, several=len(request.settings.styles.catalogue) > 1)


@router.callback_query(AlbumAsOne.filter(), StateFilter(NewJob.batch))
async def album_as_one(query: CallbackQuery, callback_data: AlbumAsOne, context: Context, bot: Bot, seller: User,
                       lang: str, state: FSMContext, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    """An album offered as a batch, taken as one product after all: its first three photos."""
    data = await state.get_data()
    if data.get("photo_message_id") != callback_data.photo or data.get("kind") != "album":
        callback_answer.text = text(lang, "batch.stale")
        return
    used = data["photo_file_ids"][: photos.MAX_PHOTOS]
    await query.message.edit_text(text(lang, "album.first_three", count=len(data["photo_file_ids"]),
                                       most=photos.MAX_PHOTOS))
    await _take_photos(query.message, Request(context, bot, seller, lang, metrics), state, used, data["info"],
                       message_id=callback_data.photo)


@router.callback_query(AlbumAsOne.filter())
async def album_as_one_too_late(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = text(lang, "batch.stale")


def _last_style(request: Request) -> str:
    return request.seller.style if request.settings.styles.find(request.seller.style) else ""


@router.callback_query(PickStyle.filter(), StateFilter(NewJob.style))
async def pick_style(query: CallbackQuery, callback_data: PickStyle, context: Context, bot: Bot, seller: User,
                     lang: str, state: FSMContext, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    data = await state.get_data()
    if data.get("photo_message_id") != callback_data.photo:  # a picker of an earlier photo
        callback_answer.text = text(lang, "style.stale")
        return
    style = context.settings.styles.find(callback_data.name)
    if style is None and callback_data.name != NO_STYLE:  # a style no longer on offer, or forged data
        callback_answer.text = text(lang, "callback.unknown")
        return
    await state.clear()
    name = style.name if style else ""
    await asyncio.to_thread(users.remember_style, seller.id, name)
    label = style.label(lang) if style else text(lang, "style.none")
    await query.message.edit_text(text(lang, "style.picked", style=html.escape(label)))
    await _generate(query.message, Request(context, bot, seller, lang, metrics), data["photo_file_ids"],
                    data["info"], job_key=f"{query.message.chat.id}:{data['photo_message_id']}", style=name)


@router.callback_query(SuggestIdeas.filter(), StateFilter(NewJob.style))
async def suggest_ideas(query: CallbackQuery, callback_data: SuggestIdeas, context: Context, bot: Bot, seller: User,
                        lang: str, state: FSMContext, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    """Three concepts from the prompt model, free; a failure or a slow answer leaves the
    looks to pick from, as before."""
    data = await state.get_data()
    if data.get("photo_message_id") != callback_data.photo or data.get("ideas"):
        callback_answer.text = text(lang, "style.stale")
        return
    request = Request(context, bot, seller, lang, metrics)
    price = formats.seller_choice(context.settings, seller).price
    await query.answer()  # the spinner stops now; the ideas take a few seconds
    callback_answer.disable()
    await query.message.edit_text(text(lang, "ideas.thinking"))
    ideas = await _suggested(request, data)
    if await state.get_state() != NewJob.style.state or (await state.get_data()).get("photo_message_id") \
            != callback_data.photo:
        return  # the seller moved on meanwhile (another photo, /cancel)
    if not ideas:
        await query.message.edit_text(text(lang, "ideas.unavailable", price=price),
                                      reply_markup=_picker(request, callback_data.photo))
        return
    await state.update_data(ideas=ideas)
    listed = "\n".join(f"{number}. {html.escape(idea)}" for number, idea in enumerate(ideas, start=1))
    await query.message.edit_text(text(lang, "ideas.pick", price=price, ideas=listed),
                                  reply_markup=_picker(request, callback_data.photo, suggested=ideas))


async def _suggested(request: Request, data: dict) -> list[str] | None:
    """The ideas for this request's photos and line; None when they can't be had in time."""
    settings = request.settings
    try:
        images = []
        for file_id in data["photo_file_ids"]:
            photo = await download_photo(request.bot, file_id)
            images.append(Image(photo, inspect_image(photo).mime_type))
        return await asyncio.wait_for(asyncio.to_thread(
            request.context.idea_writer.suggest, images, data["info"], request.lang),
            timeout=settings.styles.ideas_timeout_s)
    except Exception as exc:  # (a timeout too) the seller picks a look instead
        logger.warning("no ideas (%s); the looks are offered alone", type(exc).__name__)
        return None


@router.callback_query(PickIdea.filter(), StateFilter(NewJob.style))
async def pick_idea(query: CallbackQuery, callback_data: PickIdea, context: Context, bot: Bot, seller: User,
                    lang: str, state: FSMContext, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    data = await state.get_data()
    ideas = data.get("ideas") or []
    if data.get("photo_message_id") != callback_data.photo or not ideas:
        callback_answer.text = text(lang, "style.stale")
        return
    if not 0 <= callback_data.index < len(ideas):  # forged data
        callback_answer.text = text(lang, "callback.unknown")
        return
    idea = ideas[callback_data.index]
    await state.clear()
    await query.message.edit_text(text(lang, "idea.picked", idea=html.escape(idea)))
    await _generate(query.message, Request(context, bot, seller, lang, metrics), data["photo_file_ids"],
                    data["info"], job_key=f"{query.message.chat.id}:{data['photo_message_id']}", style="",
                    brief=idea)


@router.callback_query(PickIdea.filter())
@router.callback_query(SuggestIdeas.filter())
@router.callback_query(PickStyle.filter())
async def pick_style_too_late(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    """A look or idea picked from a picker already used, or never shown to this seller."""
    callback_answer.text = text(lang, "style.stale")


@router.message(NewJob.style, ~F.photo & ~F.document & ~F.media_group_id & ~(F.text.startswith("/")))
async def remind_style(message: Message, lang: str) -> None:
    await message.answer(text(lang, "style.waiting"))


async def _ask_for_info(message: Message, lang: str, state: FSMContext, file_ids: list[str], message_id: int,
                        unique_ids: list[str], already_asked=False) -> None:
    await state.set_state(NewJob.product_info)
    await state.set_data({"photo_file_ids": file_ids, "photo_message_id": message_id, "photo_unique_ids": unique_ids})
    if not already_asked:
        await message.answer(text(lang, "ask_info"), reply_markup=skip_keyboard(lang))


async def _info_fits(message: Message, settings: Settings, lang: str, info: str) -> bool:
    limit = settings.telegram.max_product_info_chars
    if len(info) > limit:
        await message.answer(text(lang, "info_too_long", length=len(info), limit=limit))
        return False
    return True


@router.message(NewJob.product_info, F.text & ~F.text.startswith("/"))
async def take_product_info(message: Message, context: Context, bot: Bot, seller: User, lang: str,
                            state: FSMContext, metrics: BotMetrics) -> None:
    info = message.text.strip()
    if not info:
        await message.answer(text(lang, "info_empty"))
        return
    if not await _info_fits(message, context.settings, lang, info):
        return
    data = await state.get_data()
    await _ready(message, Request(context, bot, seller, lang, metrics), state, _file_ids(data), info,
                 data["photo_message_id"])


@router.message(NewJob.product_info, ~F.text)
async def remind_product_info(message: Message, lang: str) -> None:
    await message.answer(text(lang, "ask_info.waiting"), reply_markup=skip_keyboard(lang))


@router.callback_query(SkipInfo.filter(), StateFilter(NewJob.product_info))
async def skip_product_info(query: CallbackQuery, context: Context, bot: Bot, seller: User, lang: str,
                            state: FSMContext, metrics: BotMetrics) -> None:
    data = await state.get_data()
    await query.message.edit_reply_markup(reply_markup=None)
    await _ready(query.message, Request(context, bot, seller, lang, metrics), state, _file_ids(data), "",
                 data["photo_message_id"])


def _file_ids(data: dict) -> list[str]:
    """The photos kept while the description was asked for (one, in state kept by an older bot)."""
    return data.get("photo_file_ids") or [data["photo_file_id"]]


@router.callback_query(SkipInfo.filter())
async def skip_without_photo(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = text(lang, "callback.unknown")


async def _generate(message: Message, request: Request, file_ids: list[str], info: str, *, job_key: str,
                    style: str | None = None, brief: str = "") -> None:
    """Refuse early what would fail anyway, then start the job."""
    settings, seller, lang = request.settings, request.seller, request.lang
    choice = formats.seller_choice(settings, seller)  # the price checked here is the price debited
    if await asyncio.to_thread(credits.balance_of, seller.id) < choice.price:
        await _keep_for_top_up(message, request, file_ids, info, seller.style if style is None else style, brief)
        return
    in_flight = await asyncio.to_thread(jobs_in_flight, seller.id)
    if in_flight >= settings.telegram.max_jobs_in_flight:
        await message.answer(text(lang, "too_many_jobs", in_flight=in_flight))
        return
    try:
        fetched = [NewPhoto(await download_photo(request.bot, file_id), file_id) for file_id in file_ids]
        first, *more = _distinct(fetched)
        if len(fetched) > 1 + len(more):
            await message.answer(text(lang, "album.left_out.duplicates", count=len(fetched) - 1 - len(more)))
        written = await prompt_before_charge(request.context, first, more, info, seller.style if style is None
                                             else style, brief, request.metrics.refusals.labels("prompt").inc)
        if written is False:  # the prompt model won't work with these photos: nothing charged
            await message.answer(text(lang, "photo.refused"))
            return
        job = await start_generation(request.context, request.bot, seller, message.chat.id, info,
                                     photo_file_id=first.file_id, photo_bytes=first.data, more_photos=more,
                                     job_id=uuid.uuid5(JOB_IDS, job_key), on_debit=request.metrics.debited,
                                     choice=choice, style=style, brief=brief, written=written)
        if more and not model_spec(choice.model).takes_references:
            await message.answer(_first_only_text(settings, lang, choice, job.photo_count))
    except PhotoProblem as problem:
        await message.answer(text(lang, problem.key, **problem.values))
    except TelegramBadRequest as exc:
        if "too big" not in exc.message:
            raise
        await message.answer(text(lang, "photo.too_big", size_mb="> 20"))
    except InsufficientCredits:
        await message.answer(await no_credits_text(settings, lang, seller.id, choice.price),
                             reply_markup=buy_keyboard(lang))
    except TooManyJobsInFlight as exc:
        await message.answer(text(lang, "too_many_jobs", in_flight=exc.in_flight))
    except TierClosed as closed:
        await message.answer(tier_closed_text(lang, closed))


async def _digest(bot: Bot, file_id: str) -> str:
    return hashlib.sha256(await download_photo(bot, file_id)).hexdigest()


def _distinct(fetched: list[NewPhoto]) -> list[NewPhoto]:
    """The photos, each once: the same picture sent twice (other file ids, same bytes) is one photo."""
    seen: dict[str, NewPhoto] = {}
    for photo in fetched:
        seen.setdefault(hashlib.sha256(photo.data).hexdigest(), photo)
    return list(seen.values())


def _first_only_text(settings: Settings, lang: str, choice, count: int) -> str:
    """Several photos, and a tier whose model takes one: the first is used, and
    the tier that would use them all is named."""
    words = text(lang, "photos.first_only", tier=formats.tier_label(lang, choice.tier.name), count=count)
    other = next((tier for tier in formats.tiers(settings) if model_spec(tier.model).takes_references), None)
    if other is not None:
        words += " " + text(lang, "photos.first_only.other", other=formats.tier_label(lang, other.name))
    return words


async def _keep_for_top_up(message: Message, request: Request, file_ids: list[str], info: str, style: str = "",
                           brief: str = "") -> None:
    """Out of credits: keep the photos and description, offer the packs; the
    payment that lands in time starts the video (see ``routers.buy``)."""
    settings, lang = request.settings, request.lang
    try:
        stored = [photos.Photo(await asyncio.to_thread(_store_photo, request.context,
                                                      await download_photo(request.bot, file_id)), file_id)
                  for file_id in file_ids]
    except PhotoProblem as problem:
        await message.answer(text(lang, problem.key, **problem.values))
        return
    first, *more = stored
    await asyncio.to_thread(pending.keep, user_id=request.seller.id, chat_id=message.chat.id, product_info=info,
                            ttl_s=settings.credits.pending_request_ttl_s, photo_path=first.path,
                            photo_file_id=first.file_id, more_photos=more, style=style, brief=brief)
    price = formats.seller_choice(settings, request.seller).price
    await message.answer(await kept_for_top_up_text(settings, lang, request.seller.id, info, price),
                         reply_markup=packs_keyboard(lang, settings.credits.packs, settings.credits.price))


def _store_photo(context: Context, photo: bytes) -> str:
    """Check the image and put it in storage (in a thread)."""
    suffix = inspect_image(photo).suffix
    return str(context.storage.save_photo(f"pending-{uuid.uuid4()}", photo, suffix))


async def kept_for_top_up_text(settings: Settings, lang: str, user_id: int, info: str, price: int | None = None) -> str:
    """"Not enough credits" for a request kept meanwhile; ``price`` is what the video
    would cost (its tier's), the base price when not given."""
    balance = await asyncio.to_thread(credits.balance_of, user_id)
    return text(lang, "no_credits.kept", balance=balance, price=price or settings.credits.price,
                info=info or text(lang, "no_info"), minutes=round(settings.credits.pending_request_ttl_s / 60))


async def no_credits_text(settings: Settings, lang: str, user_id: int, price: int | None = None) -> str:
    """"Not enough credits", with the seller's balance and the price."""
    balance = await asyncio.to_thread(credits.balance_of, user_id)
    return text(lang, "no_credits", balance=balance, price=price or settings.credits.price)
