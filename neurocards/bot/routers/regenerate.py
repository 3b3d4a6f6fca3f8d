"""The regenerate panel under a delivered video (issue 14): again with a new
description (asked for), or in another format or tier (a panel to pick them,
then "Start" at the price it shows).  "Again as it is" is ``routers.again``.

Each is a new job with its own debit and the delivered one as its parent.  The
price on the "Start" button travels in its data and must still be the price
when pressed: a changed price is shown, never charged.  Another format or preset
of the same tier, filmed the same way (3:4, 4:5 and 1:1 are all cut from the
9:16 film), is cut from the delivered video's clip: free, no new KIE task
(issue 20).
"""

from __future__ import annotations

import asyncio
import html
import logging
import uuid

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from redis.asyncio import Redis

from ... import jobs
from ...context import Context
from ...jobs import TooManyJobsInFlight, formats
from ...jobs.formats import Choice
from ...jobs.status import info_label
from ...keyboards import JobAction, JobActionKind, Regenerate, RegeneratePick, buy_keyboard, regenerate_keyboard
from ...limits.kie_balance import TierClosed
from ...models import Job, JobStatus, User
from ...money.credits import InsufficientCredits
from ...settings import Settings
from ...texts import text
from ..flow import JOB_IDS, refused_description, refused_text, start_generation, tier_closed_text
from ..job_buttons import own_job, photo_available
from ..metrics import BotMetrics
from .generate import no_credits_text

router = Router(name="regenerate")
logger = logging.getLogger("neurocards.bot.regenerate")

#: A second tap on the same "Start" within this many seconds starts nothing.
DOUBLE_TAP_WINDOW_S = 10


class NewDescription(StatesGroup):
    """Waiting for the new description of a delivered video's photo."""

    product_info = State()


def _refinish(job: Job, choice: Choice) -> bool:
    """True when ``choice`` is cut from ``job``'s clip, free: a delivered video
    whose clip is still here or at KIE."""
    return (job.status == JobStatus.DONE and bool(job.video_path or job.result_url)
            and formats.refinishes(job, choice))


def _price(job: Job, choice: Choice) -> int:
    return 0 if _refinish(job, choice) else choice.price


def _panel(lang: str, settings: Settings, job: Job, choice: Choice) -> tuple[str, object]:
    """The panel's text and keyboard for ``choice``."""
    price = _price(job, choice)
    made_in = html.unescape(formats.choice_label(lang, settings, choice, price))
    key = "regenerate.title_free" if price == 0 and choice.price else "regenerate.title"
    keyboard = regenerate_keyboard(lang, job.id, formats.tiers(settings), formats.presets(settings), choice, price)
    return text(lang, key, info=info_label(job), made_in=made_in), keyboard


@router.callback_query(JobAction.filter(F.action == JobActionKind.FORMAT))
async def show_panel(query: CallbackQuery, callback_data: JobAction, seller: User, lang: str, settings: Settings,
                     callback_answer: CallbackAnswer) -> None:
    job = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    if job is None:
        return
    shown, keyboard = _panel(lang, settings, job, formats.job_choice(settings, job))
    await query.message.answer(shown, reply_markup=keyboard)


@router.callback_query(RegeneratePick.filter())
async def pick(query: CallbackQuery, callback_data: RegeneratePick, seller: User, lang: str, settings: Settings,
               callback_answer: CallbackAnswer) -> None:
    job = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    choice = _choice(settings, callback_data.tier, callback_data.preset)
    if job is None or choice is None:
        callback_answer.text = callback_answer.text or text(lang, "callback.unknown")
        return
    shown, keyboard = _panel(lang, settings, job, choice)
    await query.message.edit_text(shown, reply_markup=keyboard)


def _choice(settings: Settings, tier: str, preset: str) -> Choice | None:
    """The choice a button names, if that tier and preset are on offer."""
    found, named = formats.find_tier(settings, tier), formats.find_preset(settings, preset)
    return Choice(found, named.aspect_ratio, named.name) if found is not None and named is not None else None


@router.callback_query(Regenerate.filter())
async def start_again(query: CallbackQuery, callback_data: Regenerate, context: Context, bot: Bot, seller: User,
                      lang: str, redis: Redis, metrics: BotMetrics, callback_answer: CallbackAnswer) -> None:
    settings = context.settings
    parent = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    choice = _choice(settings, callback_data.tier, callback_data.preset)
    if parent is None or choice is None:
        callback_answer.text = callback_answer.text or text(lang, "callback.unknown")
        return
    price, refinish = _price(parent, choice), _refinish(parent, choice)
    if price != callback_data.price:  # the price shown is the price debited, or nothing is
        callback_answer.text = text(lang, "regenerate.price_changed", price=price)
        callback_answer.show_alert = True
        shown, keyboard = _panel(lang, settings, parent, choice)
        await query.message.edit_text(shown, reply_markup=keyboard)
        return
    if not refinish and not photo_available(parent):
        callback_answer.text, callback_answer.show_alert = text(lang, "callback.no_photo"), True
        return
    tap_key = f"neurocards:regenerate:{seller.id}:{parent.id}:{choice.tier.name}:{choice.preset}"
    if not await redis.set(tap_key, query.id, nx=True, ex=DOUBLE_TAP_WINDOW_S):
        callback_answer.text = text(lang, "callback.already")
        return
    started = await _start(query.message, context, bot, seller, lang, metrics, parent, parent.product_info, choice,
                           job_id=uuid.uuid5(JOB_IDS, f"regenerate:{query.id}"), refinish=refinish)
    if not started:
        await redis.delete(tap_key)
        return
    callback_answer.text = text(lang, "callback.started")


@router.callback_query(JobAction.filter(F.action == JobActionKind.EDIT))
async def ask_description(query: CallbackQuery, callback_data: JobAction, seller: User, lang: str,
                          settings: Settings, state: FSMContext, callback_answer: CallbackAnswer) -> None:
    job = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    if job is None:
        return
    if not photo_available(job):
        callback_answer.text, callback_answer.show_alert = text(lang, "callback.no_photo"), True
        return
    choice = formats.job_choice(settings, job)
    await state.set_state(NewDescription.product_info)
    await state.update_data(job_id=str(job.id), price=choice.price)
    shown = formats.preset_label(lang, formats.find_preset(settings, choice.preset))
    await query.message.answer(text(lang, "regenerate.ask_info", format=shown,
                                    tier=formats.tier_label(lang, choice.tier.name), price=choice.price))


@router.message(NewDescription.product_info, F.text & ~F.text.startswith("/"))
async def take_description(message: Message, context: Context, bot: Bot, seller: User, lang: str,
                           state: FSMContext, metrics: BotMetrics) -> None:
    settings = context.settings
    info = message.text.strip()
    limit = settings.telegram.max_product_info_chars
    if not info:
        await message.answer(text(lang, "info_empty"))
        return
    if len(info) > limit:
        await message.answer(text(lang, "info_too_long", length=len(info), limit=limit))
        return
    refused = await refused_description(context, info, metrics.refusals.labels("moderation").inc)
    if refused:  # nothing charged; the question stands
        await message.answer(refused_text(lang, refused))
        return
    data = await state.get_data()
    parent = await asyncio.to_thread(jobs.get_job, data.get("job_id", ""))
    if parent is None or parent.user_id != seller.id:
        await state.clear()
        await message.answer(text(lang, "callback.unknown"))
        return
    choice = formats.job_choice(settings, parent)
    if choice.price != data.get("price"):  # changed since the question said it: say so, and ask again
        await state.update_data(price=choice.price)
        await message.answer(text(lang, "regenerate.price_changed", price=choice.price))
        return
    await state.clear()
    await _start(message, context, bot, seller, lang, metrics, parent, info, choice,
                 job_id=uuid.uuid5(JOB_IDS, f"{message.chat.id}:{message.message_id}"))


async def _start(message: Message, context: Context, bot: Bot, seller: User, lang: str, metrics: BotMetrics,
                 parent: Job, info: str, choice: Choice, *, job_id: uuid.UUID, refinish: bool = False) -> bool:
    """Start the new job; False (and the seller told why) when it could not start."""
    try:
        await start_generation(context, bot, seller, message.chat.id, info, parent=parent, job_id=job_id,
                               on_debit=metrics.debited, choice=choice, refinish=refinish)
    except InsufficientCredits:
        await message.answer(await no_credits_text(context.settings, lang, seller.id, choice.price),
                             reply_markup=buy_keyboard(lang))
        return False
    except TooManyJobsInFlight as exc:
        await message.answer(text(lang, "too_many_jobs", in_flight=exc.in_flight))
        return False
    except TierClosed as closed:
        await message.answer(tier_closed_text(lang, closed))
        return False
    return True
