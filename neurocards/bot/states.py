"""The conversation's states (aiogram FSM) shared by the photo flow's routers."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

__all__ = ["NewJob"]


class NewJob(StatesGroup):
    product_info = State()  # the photos in hand, the description asked for
    style = State()  # photos and description in hand, the look to be picked (issue 21)
    batch = State()  # several videos offered, their confirmation awaited (issue 21)
