"""A hostile-input corpus (issue 10): what a seller, a stranger or the outside
world may send — broken, mislabelled and outsize files, captions at and over
every limit, markup in captions, forged and stale button data, other sellers'
job ids, odd update types, forged KIE callbacks, result URLs pointing inside our
network.  Each case checks the exact answer (or the exact silence) and that
nothing was charged, lost or crashed: the seller keeps their credit, no job
starts that shouldn't, the bot keeps answering, and the ledger audits clean.
"""

from __future__ import annotations

import struct
import uuid
import zlib

import httpx
import pytest

from neurocards.models import Job, LedgerEntry, User
from neurocards.money.audit import audit
from tests.bot_fixtures import Chat, bot, bot_messages, seller_ids  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import PRODUCT_JPG, fresh, stack  # noqa: F401  (fixtures)
from tests.services import wait_until
from tests.stack import wait_for_final

pytestmark = pytest.mark.usefixtures("bot")

JPEG = PRODUCT_JPG.read_bytes()


def _png_claiming(width: int, height: int) -> bytes:
    """A few bytes of PNG whose header claims ``width`` × ``height`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# -- files a seller sends: each refused with its own words, nothing charged ----------------------------

FILES = {
    "zero-byte-jpeg": (dict(file_name="empty.jpg", mime_type="image/jpeg", data=b""), "photo.unreadable", {}),
    "truncated-jpeg": (dict(file_name="cut.jpg", mime_type="image/jpeg", data=JPEG[:300]), "photo.unreadable", {}),
    "pdf-labelled-png": (dict(file_name="photo.png", mime_type="image/png", data=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
                         "photo.unreadable", {}),
    "exe-labelled-jpeg": (dict(file_name="photo.jpg", mime_type="image/jpeg", data=b"MZ\x90\x00" + b"\0" * 500),
                          "photo.unreadable", {}),
    "text-labelled-webp": (dict(file_name="photo.webp", mime_type="image/webp", data=b"just some text"),
                           "photo.unreadable", {}),
    "gif": (dict(file_name="anim.gif", mime_type="image/gif", data=b"GIF89a" + b"\0" * 20), "photo.wrong_type", {}),
    "svg-with-script": (dict(file_name="x.svg", mime_type="image/svg+xml", data=b"<svg><script>alert(1)</script></svg>"),
                        "photo.wrong_type", {}),
    "heic": (dict(file_name="IMG_0001.heic", mime_type="image/heic", data=b"\0\0\0\x18ftypheic"), "photo.wrong_type", {}),
    "no-mime-type": (dict(file_name="noext", data=JPEG), "photo.wrong_type", {}),
    "zip": (dict(file_name="photos.zip", mime_type="application/zip", data=b"PK\x03\x04"), "photo.wrong_type", {}),
    "declared-25-mb": (dict(file_name="big.jpg", mime_type="image/jpeg", data=JPEG, file_size=25 * 1024 * 1024),
                       "photo.too_big", {"size_mb": "25.0"}),
    "decompression-bomb": (dict(file_name="bomb.png", mime_type="image/png", data=_png_claiming(30_000, 30_000)),
                           "photo.too_large_image", {}),
}


@pytest.mark.parametrize("name", list(FILES))
def test_a_bad_file_is_refused_in_plain_words(bot, name):
    send, key, values = FILES[name]
    chat = Chat(bot)
    chat.start()
    chat.document(caption="Mug", **send)
    chat.wait_text(chat.t(key, **values))
    assert chat.jobs() == [] and chat.balance() == 1


def test_a_photo_whose_sides_are_too_small_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Mug", width=120, height=2000)
    chat.wait_text(chat.t("photo.too_small", width=120, height=2000))
    assert chat.jobs() == [] and chat.balance() == 1


# -- captions at and over the limits, and markup in them -----------------------------------------------

@pytest.mark.parametrize("caption", [
    "x" * 500,  # exactly the limit
    "<b>bold</b> <a href='javascript:alert(1)'>x</a> & <script>alert(1)</script>",
    "*bold* _italic_ [link](http://x) `code` ~strike~ > # + - = | { } . !",
    "\u202eevil\u200b text with RTL override and zero-width space",
    "emoji 🔥🎁✨ and a very long word " + "ж" * 100,
], ids=["500-chars", "html", "markdown", "rtl-zero-width", "unicode"])
def test_a_caption_at_the_limit_or_full_of_markup_is_taken_literally(bot, caption):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption=caption)
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.product_info, job.status) == (caption.strip(), "done")
    assert chat.balance() == 0


@pytest.mark.parametrize("length", [501, 1024])
def test_a_caption_over_the_limit_is_refused_and_the_photo_kept_for_a_shorter_one(bot, length):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="y" * length)
    chat.wait_text(chat.t("info_too_long", length=length, limit=500))
    assert chat.jobs() == [] and chat.balance() == 1


@pytest.mark.parametrize("caption", ["   ", "\n\n\t"], ids=["spaces", "newlines"])
def test_a_blank_caption_is_asked_for_again(bot, caption):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption=caption)
    chat.wait_text(chat.t("ask_info"))
    assert chat.jobs() == [] and chat.balance() == 1


def test_a_reply_over_the_limit_after_being_asked_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo()
    chat.wait_text(chat.t("ask_info"))
    chat.say("z" * 700)
    chat.wait_text(chat.t("info_too_long", length=700, limit=500))
    assert chat.jobs() == [] and chat.balance() == 1


# -- forged and stale button data ------------------------------------------------------------------------

@pytest.fixture
def delivered(bot):
    """A seller with one delivered video (a message with buttons to press forged data on)."""
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Cup")
    chat.wait_video()
    [job] = chat.ended_jobs()
    return chat, job


@pytest.mark.parametrize("data, key", [
    ("buy:0:0", "pay.refused.unknown_pack"),
    ("buy:-5:50", "pay.refused.unknown_pack"),
    ("buy:5:1", "pay.refused.unknown_pack"),
    ("buy:five:50", "callback.unknown"),
    ("job:again:", "callback.unknown"),
    ("job:resend:not-a-uuid", "callback.unknown"),
    (f"job:again:{uuid.uuid4()}:extra", "callback.unknown"),
    ("skip", "callback.unknown"),
    ("x" * 64, "callback.unknown"),
    ("lang:de", "callback.unknown"),
    ("", "callback.unknown"),
], ids=["pack-0", "pack-negative", "pack-cheap", "pack-nan", "empty-job", "bad-uuid", "extra-part", "skip-unasked",
        "64-bytes", "unknown-language", "empty"])
def test_forged_button_data_is_answered_and_changes_nothing(bot, delivered, data, key):
    chat, job = delivered
    answer = chat.wait_answer(chat.press(callback_data=data, message_id=job.video_message_id)["callback_query_id"])
    assert answer["text"] == chat.t(key)
    assert len(chat.jobs()) == 1 and chat.balance() == 0
    assert not [e for e in bot_messages(bot.tg.transcript(chat.id)) if e.get("invoice")]


@pytest.mark.parametrize("action", ["again", "resend"])
def test_another_sellers_job_id_is_refused(bot, delivered, action):
    owner, job = delivered
    thief = Chat(bot)
    thief.start()
    thief.command("buy")  # a message of the thief's own with buttons, to forge the press on
    packs = thief.wait_text(thief.t("buy.title", price=1))
    tap = thief.press(callback_data=f"job:{action}:{job.id}", message_id=packs["message_id"])
    answer = thief.wait_answer(tap["callback_query_id"])
    assert answer["text"] == thief.t("callback.not_yours")
    assert len(owner.jobs()) == 1 and thief.jobs() == [] and thief.balance() == 1


# -- odd updates --------------------------------------------------------------------------------------------

def _message(user_id: int, **fields) -> dict:
    return {"message_id": 77, "date": 1_764_000_000, "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "S"}, **fields}


def test_odd_update_types_change_nothing_and_the_bot_keeps_answering(bot):
    chat = Chat(bot)
    chat.start()
    other_bot = next(seller_ids)
    pushed = [
        bot.tg.push_update("edited_message", _message(chat.id, text="/start", edit_date=1_764_000_100)),
        bot.tg.push_update("channel_post", {"message_id": 5, "date": 1, "chat": {"id": -100123, "type": "channel"},
                                            "text": "/buy"}),
        bot.tg.push_update("message", {**_message(other_bot, text="/start"),
                                       "from": {"id": other_bot, "is_bot": True, "first_name": "OtherBot"}}),
        bot.tg.push_update("message", _message(chat.id, contact={"phone_number": "+100", "first_name": "X"})),
        bot.tg.push_update("message", _message(chat.id, location={"latitude": 1.0, "longitude": 2.0})),
    ]
    assert all("update_id" in p for p in pushed)
    chat.command("balance")  # the bot still answers, after all of the above
    chat.wait_text(chat.t("balance", balance=1, price=1) + "\n" + chat.t("balance.movements") + "\n"
                   + chat.t("balance.line", date=f"{_welcome(chat).created_at:%d.%m %H:%M}", amount="+1",
                            label=chat.t("ledger.welcome")))
    assert User.get_or_none(User.id == other_bot) is None
    assert chat.jobs() == [] and chat.balance() == 1


def _welcome(chat: Chat) -> LedgerEntry:
    return LedgerEntry.get((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "welcome"))


def test_a_seller_who_blocks_the_bot_is_marked_and_unmarked(bot):
    chat = Chat(bot)
    chat.start()
    bot.tg.block(chat.id)
    wait_until(lambda: User.get_by_id(chat.id).blocked, what="the block to be recorded")
    bot.tg.unblock(chat.id)
    wait_until(lambda: not User.get_by_id(chat.id).blocked, what="the return to be recorded")


# -- the outside world: KIE callbacks and result URLs -------------------------------------------------------

def _callback(bot, job, secret=None) -> str:
    return f"http://127.0.0.1:{bot.env['NEUROCARDS_TELEGRAM__WEB_PORT']}/kie/callback/{job.id}/{secret or job.callback_secret}"


@pytest.mark.parametrize("send, status, outcome", [
    (lambda url: httpx.post(url, content=b"\xff\xfe not utf8"), 400, "malformed"),
    (lambda url: httpx.post(url, json={"code": 200, "data": None}), 200, "stale"),  # names no task of ours
    (lambda url: httpx.post(url, json={"code": 200, "data": {"taskId": "someone-elses-task"}}), 200, "stale"),
    (lambda url: httpx.post(url, content=b"[" * 70_000), 413, "too_large"),
], ids=["not-json", "no-data", "other-task", "oversize"])
def test_a_forged_or_broken_kie_callback_changes_nothing(bot, delivered, send, status, outcome):
    chat, job = delivered
    response = send(_callback(bot, job))
    assert (response.status_code, response.json()["outcome"]) == (status, outcome)
    assert Job.get_by_id(job.id).status == "done" and chat.balance() == 0


def test_a_kie_callback_with_a_guessed_secret_learns_nothing(bot, delivered):
    chat, job = delivered
    response = httpx.post(_callback(bot, job, secret="a" * len(job.callback_secret)), json={})
    assert (response.status_code, response.json()["outcome"]) == (404, "unknown_job")


@pytest.mark.parametrize("url", [
    "http://10.1.2.3/video.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:1/video.mp4",
    "http://[::1]:22/video.mp4",
    "file:///etc/passwd",
], ids=["private", "metadata", "loopback-other-port", "ipv6-loopback", "file"])
def test_a_result_url_pointing_inside_our_network_is_never_fetched(bot, url):
    # Given KIE answering with a result URL that points inside our network
    bot.fault("kie", "result_url", count=1, params={"url": url})
    chat = Chat(bot)
    chat.start()

    # When the video is ready
    chat.photo(caption="Lamp")

    # Then it is never fetched: the job fails, its credit comes back once, and the seller is told
    job = wait_until(lambda: chat.jobs() and chat.jobs()[0], what="the job")
    job = wait_for_final(job.id, timeout=60)
    assert (job.status, job.error_class) == ("failed", "result_url_refused")
    chat.wait_text(chat.t("failure.video"))
    assert chat.balance() == 1
    assert audit()["ok"]
