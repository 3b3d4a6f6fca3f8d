"""Fixtures and helpers for the Telegram contract tests (``test_telegram_*.py``).

The Telegram stand-in against the real aiogram client: every answer parses, and every error
reaches aiogram as the exception Telegram's answer would raise.

Each test module imports ``sandbox`` and ``tg`` from here, so each gets its own stand-in,
and ``tg`` resets it before every test that asks for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.telegram import create_app
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.settings import SANDBOX_BOT_TOKEN

PRODUCT_JPG = Path(__file__).resolve().parents[2] / "neurocards" / "sandbox" / "assets" / "product.jpg"
SELLER = 4242
MB = 1024 * 1024


@pytest.fixture(scope="module")
def sandbox():
    with ThreadedApp(create_app) as app:
        yield app


@pytest.fixture
def tg(sandbox):
    """The control client, on a stand-in reset to a fresh start."""
    with TelegramSandbox(sandbox.url) as client:
        client.reset()
        yield client


class LoopbackSession(AiohttpSession):
    """aiogram's own session; closing skips the 250 ms it waits for TLS connections to wind
    down, as plain HTTP on loopback has none."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def run(sandbox: ThreadedApp, scenario: Callable[[Bot], Awaitable[Any]], token: str = SANDBOX_BOT_TOKEN) -> Any:
    """Run ``scenario`` with a real aiogram Bot pointed at the stand-in."""

    async def main() -> Any:
        session = LoopbackSession(api=TelegramAPIServer.from_base(sandbox.url))
        async with Bot(token, session=session) as bot:
            return await scenario(bot)

    return asyncio.run(main())


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` on the event loop until it is truthy (fail after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
    return value


def bot_messages(tg: TelegramSandbox, chat_id: int = SELLER) -> list[dict]:
    return [event for event in tg.transcript(chat_id)["events"] if event["type"] == "bot_message"]
