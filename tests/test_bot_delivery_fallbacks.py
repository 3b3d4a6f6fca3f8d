"""Issue 20: a finished video that exists always reaches the seller, never a refund
for its size.  Telegram refusing it as a video sends it as a document; refusing
that too (413), or a file over the upload cap, sends a signed download link to
the bot's web app that expires.  End to end through the real bot and worker.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from neurocards.media import links
from tests.bot_fixtures import Chat, bot, bot_messages, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("bot")

LINK = re.compile(r"http://\S+/v/\S+")


def delivered_message(chat, kind: str) -> dict:
    return chat.tg.wait_for(lambda t: next((e for e in bot_messages(t) if e.get(kind) or
                                            (kind == "link" and LINK.search(e.get("text") or ""))), None),
                            timeout=60, chat_id=chat.id)


def test_a_video_telegram_will_not_take_as_a_video_arrives_as_a_document(bot):
    # Given Telegram refusing the file as a video once (a type it cannot play)
    chat = Chat(bot)
    chat.start()
    bot.tg.add_fault("bad_request", match={"method": "sendVideo", "chat_id": chat.id}, count=1,
                     description="Bad Request: VIDEO_CONTENT_TYPE_INVALID")
    # When the seller's video is ready
    chat.photo(caption="Glass teapot")
    document = delivered_message(chat, "document")
    [job] = chat.ended_jobs()
    # Then it arrives as a document with the caption and the video's buttons; the job is done, nothing refunded
    assert (job.status, job.delivered_as, job.video_file_id) == ("done", "document", document["document"]["file_id"])
    assert "Glass teapot" in document["caption"]
    assert buttons(document)[0][1] == f"job:again:{job.id}"
    assert chat.balance() == 0 and not [e for e in chat.messages() if e.get("video")]
    assert bot.tg.file_bytes(document["document"]["file_id"]) == Path(job.finished_path).read_bytes()


def test_a_video_telegram_will_take_neither_way_arrives_as_a_link_that_expires(bot):
    # Given Telegram refusing the upload as too large, as a video and as a document
    chat = Chat(bot)
    chat.start()
    for method in ("sendVideo", "sendDocument"):
        bot.tg.add_fault("entity_too_large", match={"method": method, "chat_id": chat.id})
    # When the seller's video is ready
    chat.photo(caption="Oak cutting board")
    message = delivered_message(chat, "link")
    [job] = chat.ended_jobs()
    # Then a message with a download link arrives; the job is done and keeps its debit
    assert (job.status, job.delivered_as) == ("done", "link") and chat.balance() == 0
    assert "Oak cutting board" in message["text"] and buttons(message)[0][1] == f"job:again:{job.id}"
    url = LINK.search(message["text"]).group(0)
    # and the link serves the finished video
    served = httpx.get(url, timeout=30)
    assert served.status_code == 200 and served.content == Path(job.finished_path).read_bytes()
    assert served.headers["content-type"] == "video/mp4" and "attachment" in served.headers["content-disposition"]

    # A link with its signature changed, or for another job, or past its expiry, serves nothing
    forged = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert httpx.get(forged).status_code == 404
    other = url.replace(str(job.id), "00000000-0000-4000-8000-000000000000")
    assert httpx.get(other).status_code == 404
    settings = bot.context.settings  # the stack's own settings, as its processes read them
    old_path, _ = links.signed_path(settings, job.id, now=time.time() - settings.telegram.link_ttl_s - 5)
    expired = httpx.get(links.public_base(settings) + old_path)
    assert expired.status_code == 410 and "/history" not in expired.text and "Send again" in expired.text

    # and "Send again" in /history gives a fresh link, not a refund or an upload
    chat.command("history")
    history = chat.tg.wait_for(lambda t: next((e for e in bot_messages(t) if any(
        data.startswith("job:resend:") for _, data in buttons(e))), None), chat_id=chat.id)
    before = len(chat.messages())
    chat.press(callback_data=f"job:resend:{job.id}", message_id=history["message_id"])
    again = chat.tg.wait_for(lambda t: (m := bot_messages(t)) and len(m) > before and LINK.search(
        m[-1].get("text") or "") and m[-1], chat_id=chat.id)
    assert httpx.get(LINK.search(again["text"]).group(0)).status_code == 200
