"""Buttons and typed callback data, in one place below the bot and the workers
(both put buttons under their messages; only the bot reads presses)."""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from .texts import text

__all__ = ["JobAction", "JobActionKind", "BuyPack", "ShowPacks", "SkipInfo", "packs_keyboard", "buy_keyboard", "SetLanguage", "again_keyboard", "try_again_keyboard", "skip_keyboard",
           "language_keyboard"]


class JobActionKind(enum.StrEnum):
    AGAIN = "again"  # a new job from the same photo and description
    RESEND = "resend"  # the delivered video once more, at no charge


class JobAction(CallbackData, prefix="job"):
    """A button about one job."""

    action: JobActionKind
    job_id: str


class ShowPacks(CallbackData, prefix="packs"):
    """"Buy credits": show the packs on sale."""


class BuyPack(CallbackData, prefix="buy"):
    """One pack's button: its credits and price in Stars (checked against the packs on sale)."""

    credits: int
    stars: int


class SkipInfo(CallbackData, prefix="skip"):
    """"Skip" under the question for a product description."""


class SetLanguage(CallbackData, prefix="lang"):
    language: str


def _one_button(label: str, data: CallbackData) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=data)
    return builder.as_markup()


def again_keyboard(language: str, job_id) -> InlineKeyboardMarkup:
    return _one_button(text(language, "button.again"), JobAction(action=JobActionKind.AGAIN, job_id=str(job_id)))


def try_again_keyboard(language: str, job_id) -> InlineKeyboardMarkup:
    return _one_button(text(language, "button.try_again"), JobAction(action=JobActionKind.AGAIN, job_id=str(job_id)))


def skip_keyboard(language: str) -> InlineKeyboardMarkup:
    return _one_button(text(language, "button.skip"), SkipInfo())


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="Русский", callback_data=SetLanguage(language="ru"))
    builder.button(text="English", callback_data=SetLanguage(language="en"))
    return builder.adjust(2).as_markup()


def packs_keyboard(language: str, packs, price: int) -> InlineKeyboardMarkup:
    """A button per pack: credits, Stars and the Stars one video comes to."""
    builder = InlineKeyboardBuilder()
    for pack in packs:
        per_video = round(pack.stars * price / pack.credits, 1)
        label = text(language, "buy.pack", credits=pack.credits, stars=pack.stars,
                     per_video=int(per_video) if per_video == int(per_video) else per_video)
        builder.button(text=label, callback_data=BuyPack(credits=pack.credits, stars=pack.stars))
    return builder.adjust(1).as_markup()


def buy_keyboard(language: str) -> InlineKeyboardMarkup:
    return _one_button(text(language, "button.buy"), ShowPacks())
