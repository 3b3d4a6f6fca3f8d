"""The photo flow: a product photo (or an image sent as a file) with a caption
starts a job at once; without one, the bot asks for a line about the product."""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from redis.asyncio import Redis

from ...context import Context
from ...jobs import TooManyJobsInFlight, formats, jobs_in_flight
from ...keyboards import SkipInfo, buy_keyboard, packs_keyboard, skip_keyboard
from ...limits.kie_balance import TierClosed
from ...models import User
from ...money import credits, pending
from ...money.credits import InsufficientCredits
from ...settings import Settings
from ...texts import text
from ..flow import JOB_IDS, download_photo, start_generation, tier_closed_text
from ..metrics import BotMetrics
from ..photos import PhotoProblem, check_size, inspect_image, suffix_of

router = Router(name="generate")
logger = logging.getLogger("neurocards.bot.generate")

class NewJob(StatesGroup):
    product_info = State()


class Request:
    """What every way of starting a job needs: the process context, the bot, who asks."""

    def __init__(self, context: Context, bot: Bot, seller: User, lang: str, metrics: BotMetrics) -> None:
        self.context = context
        self.settings: Settings = context.settings
        self.bot = bot
        self.seller = seller
        self.lang = lang
        self.metrics = metrics


@router.message(F.photo)
async def take_photo(message: Message, context: Context, bot: Bot, seller: User, lang: str, state: FSMContext,
                     redis: Redis, metrics: BotMetrics) -> None:
    if not await _first_of_album(message, redis, lang):
        return
    largest = message.photo[-1]
    await _take_image(message, Request(context, bot, seller, lang, metrics), state, largest.file_id,
                      lambda: check_size(largest.file_size, largest.width, largest.height))


@router.message(F.document)
async def take_document(message: Message, context: Context, bot: Bot, seller: User, lang: str, state: FSMContext,
                        redis: Redis, metrics: BotMetrics) -> None:
    document = message.document
    if suffix_of(document.mime_type) is None:
        key = "photo.video" if (document.mime_type or "").startswith("video/") else "photo.wrong_type"
        await message.answer(text(lang, key))
        return
    if not await _first_of_album(message, redis, lang):
        return
    await _take_image(message, Request(context, bot, seller, lang, metrics), state, document.file_id,
                      lambda: check_size(document.file_size))


async def _take_image(message: Message, request: Request, state: FSMContext, file_id: str, check) -> None:
    lang = request.lang
    try:
        check()
    except PhotoProblem as problem:
        await message.answer(text(lang, problem.key, **problem.values))
        return
    info = (message.caption or "").strip()
    if not info:
        await _ask_for_info(message, lang, state, file_id)
        return
    if not await _info_fits(message, request.settings, lang, info):
        await _ask_for_info(message, lang, state, file_id, already_asked=True)
        return
    await state.clear()
    await _generate(message, request, file_id, info, job_key=f"{message.chat.id}:{message.message_id}")


async def _ask_for_info(message: Message, lang: str, state: FSMContext, file_id: str, already_asked=False) -> None:
    await state.set_state(NewJob.product_info)
    await state.update_data(photo_file_id=file_id, photo_message_id=message.message_id)
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
    await state.clear()
    await _generate(message, Request(context, bot, seller, lang, metrics), data["photo_file_id"], info,
                    job_key=f"{message.chat.id}:{data['photo_message_id']}")


@router.message(NewJob.product_info, ~F.text)
async def remind_product_info(message: Message, lang: str) -> None:
    await message.answer(text(lang, "ask_info.waiting"), reply_markup=skip_keyboard(lang))


@router.callback_query(SkipInfo.filter(), StateFilter(NewJob.product_info))
async def skip_product_info(query: CallbackQuery, context: Context, bot: Bot, seller: User, lang: str,
                            state: FSMContext, metrics: BotMetrics) -> None:
    data = await state.get_data()
    await state.clear()
    await query.message.edit_reply_markup(reply_markup=None)
    await _generate(query.message, Request(context, bot, seller, lang, metrics), data["photo_file_id"], "",
                    job_key=f"{query.message.chat.id}:{data['photo_message_id']}")


@router.callback_query(SkipInfo.filter())
async def skip_without_photo(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = text(lang, "callback.unknown")


async def _generate(message: Message, request: Request, file_id: str, info: str, *, job_key: str) -> None:
    """Refuse early what would fail anyway, then start the job."""
    settings, seller, lang = request.settings, request.seller, request.lang
    choice = formats.seller_choice(settings, seller)  # the price checked here is the price debited
    if await asyncio.to_thread(credits.balance_of, seller.id) < choice.price:
        await _keep_for_top_up(message, request, file_id, info)
        return
    in_flight = await asyncio.to_thread(jobs_in_flight, seller.id)
    if in_flight >= settings.telegram.max_jobs_in_flight:
        await message.answer(text(lang, "too_many_jobs", in_flight=in_flight))
        return
    try:
        photo = await download_photo(request.bot, file_id)
        await start_generation(request.context, request.bot, seller, message.chat.id, info, photo_file_id=file_id,
                               photo_bytes=photo, job_id=uuid.uuid5(JOB_IDS, job_key),
                               on_debit=request.metrics.debited, choice=choice)
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


async def _keep_for_top_up(message: Message, request: Request, file_id: str, info: str) -> None:
    """Out of credits: keep the photo and description, offer the packs; the
    payment that lands in time starts the video (see ``routers.buy``)."""
    settings, lang = request.settings, request.lang
    try:
        photo = await download_photo(request.bot, file_id)
        stored = await asyncio.to_thread(_store_photo, request.context, photo)
    except PhotoProblem as problem:
        await message.answer(text(lang, problem.key, **problem.values))
        return
    await asyncio.to_thread(pending.keep, user_id=request.seller.id, chat_id=message.chat.id, product_info=info,
                            ttl_s=settings.credits.pending_request_ttl_s, photo_path=stored, photo_file_id=file_id)
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


async def _first_of_album(message: Message, redis: Redis, lang: str) -> bool:
    """Of an album's photos only the first is used; the seller is told so once."""
    if not message.media_group_id:
        return True
    first = await redis.set(f"neurocards:album:{message.media_group_id}", 1, nx=True, ex=120)
    if first:
        await message.answer(text(lang, "album"))
    return bool(first)
