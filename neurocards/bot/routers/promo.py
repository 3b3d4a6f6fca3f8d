"""/promo CODE: a seller redeems a promo code an operator made (issue 22).

Once per seller per code, within its uses and expiry (:mod:`neurocards.money.promos`);
every refusal says why in plain words and credits nothing.  Operators make
codes with ``/promo new`` (``routers.admin``), matched before this router.
"""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from ...models import User
from ...money import promos
from ...texts import text
from ..metrics import BotMetrics

router = Router(name="promo")


@router.message(Command("promo"))
async def redeem(message: Message, command: CommandObject, seller: User, lang: str, metrics: BotMetrics) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(text(lang, "promo.usage"))
        return
    try:
        redeemed = await asyncio.to_thread(promos.redeem, seller.id, code)
    except promos.PromoRefused as refused:
        await message.answer(text(lang, f"promo.{refused.reason}", code=promos.normalise(code)[:32]))
        return
    metrics.credits.labels("promo").inc(redeemed.credits)
    await message.answer(text(lang, "promo.redeemed", code=redeemed.code, credits=redeemed.credits,
                              balance=redeemed.balance))
