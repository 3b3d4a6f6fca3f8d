"""/start, /help, /lang and /cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from ... import credits
from ...models import User
from ...settings import get_settings
from ...texts import text
from ...users import set_language
from ..keyboards import SetLanguage, language_keyboard

router = Router(name="start")


@router.message(CommandStart())
async def start(message: Message, seller: User, seller_is_new: bool, lang: str, state: FSMContext) -> None:
    await state.clear()
    settings = get_settings()
    lines = [text(lang, "start", price=settings.credits.price, balance=credits.balance_of(seller.id))]
    if seller_is_new and settings.credits.welcome:
        lines.append(text(lang, "start.welcome", credits=settings.credits.welcome))
    await message.answer("\n\n".join(lines))


@router.message(Command("help"))
async def show_help(message: Message, lang: str) -> None:
    settings = get_settings()
    await message.answer(text(lang, "help", price=settings.credits.price, support=settings.telegram.support_contact))


@router.message(Command("lang"))
async def choose_language(message: Message, lang: str) -> None:
    await message.answer(text(lang, "lang.choose"), reply_markup=language_keyboard())


@router.callback_query(SetLanguage.filter(F.language.in_({"ru", "en"})))
async def set_seller_language(query: CallbackQuery, callback_data: SetLanguage, seller: User) -> None:
    set_language(seller.id, callback_data.language)
    await query.answer()
    await query.message.edit_text(text(callback_data.language, "lang.set"))


@router.message(Command("cancel"))
async def cancel(message: Message, lang: str, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(text(lang, "cancel.nothing"))
        return
    await state.clear()
    await message.answer(text(lang, "cancel.done"))
