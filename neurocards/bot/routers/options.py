""""Options" (/options, and the button under /start): the preset (a format and
what it is for: a Wildberries or Ozon card, Reels, ...) and quality tier the
seller's videos are made in, remembered per seller (issues 14 and 20).

The one-step flow stays as it was — a photo with a caption starts a video at
once — in whatever the seller last picked here (the defaults until then).  The
panel shows each tier's price, which is what a video in that tier debits.
"""

from __future__ import annotations

import asyncio
import html

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from ... import users
from ...jobs import formats
from ...jobs.formats import Choice
from ...keyboards import OptionsDone, PickOption, ShowOptions, options_keyboard
from ...models import User
from ...settings import Settings
from ...texts import text

router = Router(name="options")


def panel_text(lang: str, settings: Settings, choice: Choice, key: str = "options.title") -> str:
    return text(lang, key, format=formats.preset_label(lang, formats.find_preset(settings, choice.preset)),
                tier=html.unescape(formats.tier_label(lang, choice.tier.name)), price=choice.price)


def _keyboard(lang: str, settings: Settings, choice: Choice):
    return options_keyboard(lang, formats.tiers(settings), formats.presets(settings), choice)


@router.message(Command("options"))
async def show_options(message: Message, seller: User, lang: str, settings: Settings) -> None:
    choice = formats.seller_choice(settings, seller)
    await message.answer(panel_text(lang, settings, choice), reply_markup=_keyboard(lang, settings, choice))


@router.callback_query(ShowOptions.filter())
async def show_options_button(query: CallbackQuery, seller: User, lang: str, settings: Settings) -> None:
    await show_options(query.message, seller, lang, settings)


@router.callback_query(PickOption.filter())
async def pick_option(query: CallbackQuery, callback_data: PickOption, seller: User, lang: str, settings: Settings,
                      callback_answer: CallbackAnswer) -> None:
    tier, preset = formats.find_tier(settings, callback_data.tier), formats.find_preset(settings, callback_data.preset)
    if tier is None or preset is None:  # a tier or preset no longer on offer, or forged data
        callback_answer.text = text(lang, "callback.unknown")
        return
    await asyncio.to_thread(users.remember_choice, seller.id, tier.name, preset.aspect_ratio, preset.name)
    choice = Choice(tier, preset.aspect_ratio, preset.name)
    await query.message.edit_text(panel_text(lang, settings, choice), reply_markup=_keyboard(lang, settings, choice))


@router.callback_query(OptionsDone.filter())
async def close_options(query: CallbackQuery, seller: User, lang: str, settings: Settings) -> None:
    await query.message.edit_text(panel_text(lang, settings, formats.seller_choice(settings, seller), "options.saved"))
