"""/invite: a seller's referral link, and what their invitations brought them
(issue 22; :mod:`neurocards.money.referrals`).  The link opens the bot with
``/start ref_<code>``, which ``routers.start`` reads."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message

from ...models import User
from ...money import referrals
from ...settings import Settings
from ...texts import text

router = Router(name="invite")


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={referrals.PREFIX}{code}"


@router.message(Command("invite"))
async def invite(message: Message, bot: Bot, seller: User, lang: str, settings: Settings) -> None:
    terms = settings.credits.referral
    if not terms.bonus:
        await message.answer(text(lang, "invite.off"))
        return
    code = await asyncio.to_thread(referrals.code_of, seller.id)
    so_far = await asyncio.to_thread(referrals.summary, seller.id)
    me = await bot.me()
    lines = [text(lang, "invite", link=invite_link(me.username, code), bonus=terms.bonus, cap=terms.max_per_month)]
    if so_far.joined:
        lines.append(text(lang, "invite.so_far", joined=so_far.joined, bonuses=so_far.bonuses, credits=so_far.credits))
    if so_far.this_month >= terms.max_per_month:
        lines.append(text(lang, "invite.month_full", cap=terms.max_per_month))
    await message.answer("\n\n".join(lines))
