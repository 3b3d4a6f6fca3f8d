"""The bot end to end: a product photo (with or without a caption, as a photo or a
file; albums are in test_bot_albums) comes back as a video, and what is not a usable photo,
or comes without credits, gets its own answer and starts nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from neurocards.models import LedgerEntry
from neurocards.settings import load_settings
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import PRODUCT_JPG, SAMPLE_MP4, fresh, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final

TINY_PNG = PRODUCT_JPG.with_name("tiny.png")

pytestmark = pytest.mark.usefixtures("bot")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_a_photo_with_a_caption_comes_back_as_a_video(bot, language):
    # Given a new seller
    chat = Chat(bot, language)
    chat.start()

    # When they send a product photo with a caption
    chat.photo(caption="Ceramic mug <350 ml>")

    # Then a status message with "Generate again" appears, and the video follows
    [video] = chat.wait_video()
    [job] = chat.jobs()
    assert video["caption"] == chat.t("video.caption", info="Ceramic mug <350 ml>", balance=0)
    assert buttons(video) == [(chat.t("button.again"), f"job:again:{job.id}"), (chat.t("button.edit"), f"job:edit:{job.id}"),
                              (chat.t("button.format"), f"job:format:{job.id}"),
                              (chat.t("button.report"), f"job:report:{job.id}")]  # the regenerate panel (issue 14)
    assert bot.tg.file_bytes(video["video"]["file_id"]) == Path(job.finished_path).read_bytes()
    status = bot.tg.transcript(chat.id)["messages"][str(job.status_message_id)]
    assert buttons(status) in ([(chat.t("button.again"), f"job:again:{job.id}")], [])
    assert wait_for_final(job.id).status == "done"
    assert chat.balance() == 0
    bot.tg.wait_for(lambda t: t["messages"][str(job.status_message_id)]["text"]
                    == chat.t("status.done", info="Ceramic mug <350 ml>"), chat_id=chat.id)


def test_a_photo_without_a_caption_asks_for_one_then_starts(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo()
    question = chat.wait_text(chat.t("ask_info"))
    assert buttons(question) == [(chat.t("button.skip"), "skip")]
    chat.say("Linen apron, two pockets")
    chat.wait_video()
    [job] = chat.jobs()
    assert job.product_info == "Linen apron, two pockets"


def test_skip_starts_without_product_info(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo()
    chat.wait_text(chat.t("ask_info"))
    chat.press(callback_data="skip")
    chat.wait_video()
    [job] = chat.jobs()
    assert job.product_info == ""


def test_an_image_sent_as_a_file_is_used(bot):
    chat = Chat(bot)
    chat.start()
    chat.document(file_name="mug.jpg", mime_type="image/jpeg", data=PRODUCT_JPG.read_bytes(), caption="Mug")
    chat.wait_video()
    [job] = chat.jobs()
    assert Path(job.photo_path).read_bytes() == PRODUCT_JPG.read_bytes()


@pytest.mark.parametrize(
    "send, key",
    [
        (lambda c: c.document(file_name="catalog.pdf", mime_type="application/pdf", data=b"%PDF-1.4 x"), "photo.wrong_type"),
        (lambda c: c.document(file_name="clip.mp4", mime_type="video/mp4", data=SAMPLE_MP4.read_bytes()), "photo.video"),
        (lambda c: c.tg.send_video(c.id, language_code=c.language), "photo.video"),
        (lambda c: c.tg.send_sticker(c.id, language_code=c.language), "photo.sticker"),
        (lambda c: c.tg.send_voice(c.id, language_code=c.language), "photo.voice"),
        (lambda c: c.say("hello"), "send_photo"),
        (lambda c: c.command("frobnicate"), "unknown_command"),
        (lambda c: c.document(file_name="fake.jpg", mime_type="image/jpeg", data=b"not an image", caption="x"),
         "photo.unreadable"),
    ],
    ids=["pdf", "video-file", "video", "sticker", "voice", "text", "unknown-command", "broken-jpeg"],
)
@pytest.mark.parametrize("language", ["ru", "en"])
def test_what_is_not_a_product_photo_gets_its_own_answer(bot, send, key, language):
    chat = Chat(bot, language)
    chat.start()
    send(chat)
    chat.wait_text(chat.t(key))
    assert chat.jobs() == [] and chat.balance() == 1


def test_a_photo_over_20_mb_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Mug", file_size=25 * 1024 * 1024)
    chat.wait_text(chat.t("photo.too_big", size_mb="25.0"))
    assert chat.jobs() == []


def test_a_photo_under_256_px_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.document(file_name="tiny.png", mime_type="image/png", data=TINY_PNG.read_bytes(), caption="Mug")
    chat.wait_text(chat.t("photo.too_small", width=100, height=100))
    assert chat.jobs() == [] and chat.balance() == 1


def test_product_info_over_500_characters_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="x" * 501)
    chat.wait_text(chat.t("info_too_long", length=501, limit=500))
    assert chat.jobs() == []
    chat.say("A shorter line")
    chat.wait_video()
    assert [job.product_info for job in chat.jobs()] == ["A shorter line"]


def test_not_enough_credits_keeps_the_photo_and_offers_the_packs(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="First")
    chat.wait_video()
    chat.photo(caption="Second")
    offer = chat.wait_text(chat.t("no_credits.kept", balance=0, price=1, info="Second", minutes=30))
    assert [data for _, data in buttons(offer)] == ["buy:5:50", "buy:10:90", "buy:30:240"]
    assert len(chat.jobs()) == 1


def test_twenty_photos_in_a_second_start_at_most_the_in_flight_cap(bot):
    # (filming takes 3 s here, so no job ends while the burst is handled, however slow the machine)
    import httpx

    httpx.post(f"{bot.kie.url}/_sandbox/kie/config", json={"generation_s": 3}).raise_for_status()
    chat = Chat(bot)
    chat.start()
    from neurocards.money import credits

    credits.grant(chat.id, 30, "test")
    for n in range(20):
        chat.photo(caption=f"Mug {n}")
    chat.wait_video()
    assert 1 <= len(chat.jobs()) <= load_settings().telegram.max_jobs_in_flight
    debits = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit")).count()
    assert debits == len(chat.jobs())
