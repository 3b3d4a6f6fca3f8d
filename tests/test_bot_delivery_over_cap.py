"""Issue 20: a finished file over Telegram's upload cap (``telegram.upload_limit_mb``;
50 MB for a bot, lowered here to 1 KB so the sandbox's small clips are over it)
goes as a signed download link at once, without an upload Telegram would refuse."""

from __future__ import annotations

import httpx
import pytest

from tests.bot_fixtures import Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.test_bot_delivery_fallbacks import LINK, delivered_message

pytestmark = pytest.mark.usefixtures("bot")

STACK_ENV = {"NEUROCARDS_TELEGRAM__UPLOAD_LIMIT_MB": "0.001"}


def test_a_video_over_the_upload_cap_goes_as_a_link_without_an_upload(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Wool socks")
    message = delivered_message(chat, "link")
    [job] = chat.ended_jobs()
    assert (job.status, job.delivered_as, job.finished_bytes > 1024) == ("done", "link", True)
    assert chat.balance() == 0  # the video exists: its credit stays spent
    calls = bot.tg.calls()
    assert (calls.get("sendVideo", 0), calls.get("sendDocument", 0)) == (0, 0)
    served = httpx.get(LINK.search(message["text"]).group(0), timeout=30)
    assert served.status_code == 200 and len(served.content) == job.finished_bytes
