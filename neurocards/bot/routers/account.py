"""/balance and /history."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from ... import jobs
from ...jobs.status import info_label
from ...keyboards import JobAction, JobActionKind, buy_keyboard
from ...models import JobStatus, User
from ...money import credits
from ...settings import Settings
from ...texts import text

router = Router(name="account")

HISTORY_SIZE = 10
MOVEMENTS_SHOWN = 5


@router.message(Command("balance"))
async def show_balance(message: Message, seller: User, lang: str, settings: Settings) -> None:
    balance = await asyncio.to_thread(credits.balance_of, seller.id)
    movements = await asyncio.to_thread(credits.recent_movements, seller.id, MOVEMENTS_SHOWN)
    lines = [text(lang, "balance", balance=balance, price=settings.credits.price)]
    lines.append(text(lang, "balance.movements") if movements else text(lang, "balance.none"))
    for entry in movements:
        lines.append(text(lang, "balance.line", date=f"{entry.created_at:%d.%m %H:%M}", amount=f"{entry.amount:+d}",
                          label=text(lang, f"ledger.{entry.kind}")))
    await message.answer("\n".join(lines), reply_markup=buy_keyboard(lang))


@router.message(Command("history"))
async def show_history(message: Message, seller: User, lang: str) -> None:
    recent = await asyncio.to_thread(jobs.recent_jobs, seller.id, HISTORY_SIZE)
    if not recent:
        await message.answer(text(lang, "history.empty"))
        return
    lines = [text(lang, "history.title")]
    buttons = InlineKeyboardBuilder()
    for number, job in enumerate(recent, 1):
        lines.append(text(lang, "history.line", number=number, date=f"{job.created_at:%d.%m %H:%M}",
                          status=text(lang, f"job.status.{job.status}"), info=info_label(job)))
        if job.status == JobStatus.DONE:
            buttons.button(text=text(lang, "history.resend", number=number),
                           callback_data=JobAction(action=JobActionKind.RESEND, job_id=str(job.id)))
    delivered = any(job.status == JobStatus.DONE for job in recent)
    await message.answer("\n".join(lines), reply_markup=buttons.adjust(5).as_markup() if delivered else None)
