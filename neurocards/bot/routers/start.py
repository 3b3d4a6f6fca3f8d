"""/start (an invitation link's too), /help, /lang and /cancel."""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from ...jobs import formats
from ...keyboards import SetLanguage, language_keyboard, options_button
from ...models import User
from ...money import credits, referrals
from ...settings import Settings
from ...texts import text
from ...users import set_language

router = Router(name="start")


@router.message(CommandStart())
async def start(message: Message, command: CommandObject, seller: User, seller_is_new: bool, lang: str,
                state: FSMContext, settings: Settings) -> None:
    await state.clear()
    balance = await asyncio.to_thread(credits.balance_of, seller.id)
    lines = [text(lang, "start", price=settings.credits.price, balance=balance)]
    if seller_is_new and settings.credits.welcome:
        lines.append(text(lang, "start.welcome", credits=settings.credits.welcome))
    code = referrals.parse(command.args or "")
    if code is not None:  # opened by an invitation link (/invite)
        attached = await asyncio.to_thread(referrals.attach, seller.id, code, registered_now=seller_is_new)
        lines.append(text(lang, f"referral.{attached.reason}", bonus=settings.credits.referral.bonus))
    await message.answer("\n\n".join(lines), reply_markup=options_button(lang, formats.seller_choice(settings, seller)))


@router.message(Command("help"))
async def show_help(message: Message, lang: str, settings: Settings) -> None:
    await message.answer(text(lang, "help", price=settings.credits.price, support=settings.telegram.support_contact))


@router.message(Command("lang"))
async def choose_language(message: Message, lang: str) -> None:
    await message.answer(text(lang, "lang.choose"), reply_markup=language_keyboard())


@router.callback_query(SetLanguage.filter(F.language.in_({"ru", "en"})))
async def set_seller_language(query: CallbackQuery, callback_data: SetLanguage, seller: User) -> None:
    await asyncio.to_thread(set_language, seller.id, callback_data.language)
    await query.message.edit_text(text(callback_data.language, "lang.set"))


@router.message(Command("cancel"))
async def cancel(message: Message, lang: str, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(text(lang, "cancel.nothing"))
        return
    await state.clear()
    await message.answer(text(lang, "cancel.done"))
