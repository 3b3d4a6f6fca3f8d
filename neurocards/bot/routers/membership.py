"""A seller blocking or restarting the bot (``my_chat_member`` in a private chat):
recorded, so nothing more is sent to someone who blocked us, and sending resumes
when they come back."""

from __future__ import annotations

import asyncio
import logging

from aiogram import F, Router
from aiogram.types import ChatMemberUpdated

from ... import users

router = Router(name="membership")
logger = logging.getLogger("neurocards.bot.membership")


@router.my_chat_member(F.chat.type == "private")
async def seller_blocked_or_returned(update: ChatMemberUpdated) -> None:
    blocked = update.new_chat_member.status == "kicked"
    logger.info("user=%s %s the bot", update.from_user.id, "blocked" if blocked else "unblocked")
    await asyncio.to_thread(users.mark_blocked, update.from_user.id, blocked)
