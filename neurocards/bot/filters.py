"""Filters of our own, for aiogram routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject, User

from ..settings import Settings

__all__ = ["IsAdmin"]


class IsAdmin(Filter):
    """Lets through only the operators listed in ``telegram.admin_ids``: the one
    place that decides who is an admin (the settings come from workflow data)."""

    async def __call__(self, event: TelegramObject, event_from_user: User | None, settings: Settings) -> bool:
        return event_from_user is not None and event_from_user.id in settings.telegram.admin_ids
