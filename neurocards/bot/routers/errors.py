"""The last word on an update whose handler failed: logged once, with its
traceback, and the seller answered in plain words instead of silence (in the
chat: a button press has been answered already, by ``CallbackAnswerMiddleware``).
A payment whose record failed is told it will be credited by itself — never
to try again, which would be paying twice."""

from __future__ import annotations

import logging
import math

from aiogram import Router
from aiogram.types import ErrorEvent

from ...settings import Settings
from ...texts import language_of, text

router = Router(name="errors")
logger = logging.getLogger("neurocards.bot.errors")


@router.errors()
async def answer_failed_update(event: ErrorEvent, settings: Settings) -> None:
    update = event.update
    logger.error("update %s failed: %s", update.update_id, type(event.exception).__name__, exc_info=event.exception)
    answer = text(_language(update), "error.internal", support=settings.telegram.support_contact)
    paid = update.message.successful_payment if update.message is not None else None
    if paid is not None:  # never "try again": they would pay twice; the reconciler credits it (issue 25)
        credits = settings.credits
        minutes = math.ceil((credits.reconcile_period_s + credits.recover_after_s) / 60)
        answer = text(_language(update), "pay.delayed", stars=paid.total_amount, minutes=minutes,
                      support=settings.telegram.support_contact)
    if update.callback_query is not None and update.callback_query.message is not None:
        await update.callback_query.message.answer(answer)
    elif update.message is not None:
        await update.message.answer(answer)


def _language(update) -> str:
    event = update.message or update.callback_query
    user = getattr(event, "from_user", None)
    return language_of(getattr(user, "language_code", None))
