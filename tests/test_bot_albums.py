"""Several photos of one product (issue 21): an album of 2-3 photos, or "add
another photo" while the bot waits for the description, makes one job whose
photos reach the prompt model and, where the tier's model takes them, KIE as
reference images; "Generate again" reuses them all.  What an album holds that
can't be used is left out and named; an album with nothing usable starts nothing.
"""

from __future__ import annotations

import hashlib
import io
import time

import httpx
import pytest
from PIL import Image

from neurocards import users
from neurocards.jobs import photos
from neurocards.models import LedgerEntry
from neurocards.money import credits
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import PRODUCT_JPG, fresh, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final
from tests.test_bot_payments import invoice_of

pytestmark = [pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module"),
              pytest.mark.usefixtures("bot")]

#: Three different product photos (the sandbox's assets).
PHOTOS = [PRODUCT_JPG.read_bytes(), PRODUCT_JPG.with_name("product-mug.jpg").read_bytes(),
          PRODUCT_JPG.with_name("product-candle.jpg").read_bytes()]


def plain_jpeg(colour: str) -> bytes:
    """A plain 400x400 photo of another colour: a photo unlike the others."""
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kie_request(stack, job) -> dict:
    tasks = httpx.get(f"{stack.kie.url}/_sandbox/kie/tasks").json()["tasks"]
    return next(task["request"] for task in tasks if task["task_id"] == job.kie_task_id)


def image_digests(request: dict) -> list[str]:
    """What each image URL of a KIE request serves, as digests."""
    urls = request.get("imageUrls") or request["input"]["image_urls"]
    return [sha(httpx.get(url).raise_for_status().content) for url in urls]


def openai_images(stack) -> list[list[str]]:
    """The short digests of the images in each prompt request OpenAI received, in order."""
    requests = httpx.get(f"{stack.openai.url}/_sandbox/openai/requests").json()["requests"]
    return [[image["digest"] for image in request["images"]] for request in requests]


def album(chat: Chat, group: str, datas, caption: str | None = "Ceramic mug set") -> None:
    for number, data in enumerate(datas):
        chat.photo(caption=caption if number == 0 else None, data=data, media_group_id=group)


def debits(chat: Chat) -> list[int]:
    query = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit"))
    return [entry.amount for entry in query]


def test_an_album_of_three_is_one_job_with_three_references_and_again_reuses_them(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 1, "test")

    album(chat, "three", PHOTOS)

    chat.wait_video()
    [job] = chat.jobs()
    assert job.photo_count == 3 and job.product_info == "Ceramic mug set"
    request = kie_request(bot, job)
    assert request["generationType"] == "REFERENCE_2_VIDEO" and request["model"] == "veo3_fast"
    assert image_digests(request) == [sha(data) for data in PHOTOS]  # each photo uploaded, in order
    assert openai_images(bot)[-1] == [sha(data)[:8] for data in PHOTOS]  # the prompt model saw all three
    assert debits(chat) == [-1]  # one job, one debit
    assert not any(chat.t("album.first_three", count=3, most=3) == m.get("text") for m in chat.messages())

    chat.press(callback_data=f"job:again:{job.id}")
    chat.wait_video(2)
    again = wait_for_final(chat.jobs()[-1].id)
    assert again.photo_count == 3 and again.status == "done"
    assert image_digests(kie_request(bot, again)) == [sha(data) for data in PHOTOS]
    uploads = {photo.kie_image_url for photo in photos.more_photos(again.id)}
    assert uploads == {photo.kie_image_url for photo in photos.more_photos(job.id)}  # not uploaded again
    assert again.kie_image_url == job.kie_image_url


def test_a_tier_whose_model_takes_one_photo_uses_the_first_and_says_so(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 3, "test")
    users.remember_choice(chat.id, "quality", "9:16", "reels")  # as "Options" does; Quality is veo3, one photo

    album(chat, "quality", PHOTOS[:2])

    chat.wait_text(chat.t("photos.first_only", tier=chat.t("tier.quality"), count=2) + " "
                   + chat.t("photos.first_only.other", other=chat.t("tier.fast")))
    chat.wait_video()
    [job] = chat.jobs()
    request = kie_request(bot, job)
    assert request["model"] == "veo3" and "generationType" not in request
    assert image_digests(request) == [sha(PHOTOS[0])]


def test_what_an_album_cannot_use_is_left_out_and_named(bot):
    chat = Chat(bot)
    chat.start()
    group = "mixed"
    chat.photo(caption="Linen apron", data=PHOTOS[0], media_group_id=group)
    chat.tg.send_video(chat.id, media_group_id=group, language_code="en")
    chat.photo(data=PHOTOS[1], width=200, height=200, media_group_id=group)  # under 256 px
    chat.document(data=b"%PDF-1.4 not an image", file_name="spec.pdf", media_group_id=group)
    chat.photo(data=PHOTOS[2], media_group_id=group)

    chat.wait_text("\n".join([chat.t("album.left_out.videos", count=1), chat.t("album.left_out.others", count=1),
                              chat.t("album.left_out.small", count=1)]))
    chat.wait_video()
    [job] = chat.jobs()
    assert job.photo_count == 2 and job.product_info == "Linen apron"
    assert image_digests(kie_request(bot, job)) == [sha(PHOTOS[0]), sha(PHOTOS[2])]


def test_the_same_photo_twice_in_an_album_is_used_once(bot):
    chat = Chat(bot)
    chat.start()
    album(chat, "twice", [PHOTOS[0], PHOTOS[1], PHOTOS[0]])
    chat.wait_text(chat.t("album.left_out.duplicates", count=1))
    chat.wait_video()
    [job] = chat.jobs()
    assert job.photo_count == 2


def test_an_album_of_videos_only_starts_nothing(bot):
    chat = Chat(bot)
    chat.start()
    for _ in range(2):
        chat.tg.send_video(chat.id, media_group_id="videos", language_code="en")
    chat.wait_text(chat.t("album.videos_only"))
    chat.say("/balance")
    assert chat.jobs() == [] and chat.balance() == 1


def test_an_album_of_more_than_ten_items_is_refused(bot):
    # Telegram caps albums at 10; more items under one media_group_id come from outside
    chat = Chat(bot)
    chat.start()
    album(chat, "forged", [PHOTOS[number % 3] for number in range(11)])
    chat.wait_text(chat.t("album.too_many", most=10))
    assert chat.jobs() == [] and chat.balance() == 1


def test_an_album_of_five_is_offered_as_a_batch_or_as_one_product(bot):
    chat = Chat(bot)
    chat.start()
    five = [*PHOTOS, plain_jpeg("navy"), plain_jpeg("olive")]
    album(chat, "five", five)
    offer = chat.wait_text(chat.t("batch.offer.album", count=5, price=1, total=5, balance=1))
    chat.press(callback_data=buttons(offer)[-1][1])  # one product after all (batches: test_bot_batches)
    chat.wait_edited(offer, chat.t("album.first_three", count=5, most=3))
    chat.wait_video()
    [job] = chat.jobs()
    assert job.photo_count == 3
    assert image_digests(kie_request(bot, job)) == [sha(data) for data in PHOTOS]


def test_an_album_without_a_caption_asks_once_then_makes_one_job(bot):
    chat = Chat(bot)
    chat.start()
    album(chat, "quiet", PHOTOS[:2], caption=None)
    question = chat.wait_text(chat.t("ask_info"))
    assert buttons(question) == [(chat.t("button.skip"), "skip")]
    chat.say("Two-tone ceramic mug")
    chat.wait_video()
    [job] = chat.jobs()
    assert (job.photo_count, job.product_info) == (2, "Two-tone ceramic mug")
    assert sum(1 for m in chat.messages() if m.get("text") == chat.t("ask_info")) == 1


def test_add_another_photo_while_the_description_is_awaited(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(data=PHOTOS[0])
    chat.wait_text(chat.t("ask_info"))
    chat.photo(data=PHOTOS[1])
    chat.wait_text(chat.t("photo.added", count=2, most=3))
    chat.photo(data=PHOTOS[1])  # the same picture again
    chat.wait_text(chat.t("photo.duplicate"))
    chat.photo(data=PHOTOS[2])
    chat.wait_text(chat.t("photo.added", count=3, most=3))
    time.sleep(2)  # a seller sends at most 5 messages in 2 s (the throttle), and this is the sixth
    chat.photo(data=plain_jpeg("navy"))
    chat.wait_text(chat.t("photo.full", most=3))
    chat.say("Candle in a glass jar")

    chat.wait_video()
    [job] = chat.jobs()
    assert (job.photo_count, job.product_info) == (3, "Candle in a glass jar")
    assert image_digests(kie_request(bot, job)) == [sha(data) for data in PHOTOS]


def test_an_album_kept_for_a_top_up_starts_with_all_its_photos(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="First")
    chat.wait_video()  # the welcome credit spent
    album(chat, "later", PHOTOS, caption="Mug trio")
    offer = chat.wait_text(chat.t("no_credits.kept", balance=0, price=1, info="Mug trio", minutes=30))
    assert len(chat.jobs()) == 1

    chat.press(callback_data="buy:5:50", message_id=offer["message_id"])  # the real Stars checkout
    chat.tg.pay(chat.id, invoice_of(chat)["message_id"])
    chat.wait_video(2)
    job = wait_for_final(chat.jobs()[-1].id)
    assert (job.photo_count, job.product_info, job.status) == (3, "Mug trio", "done")
    assert image_digests(kie_request(bot, job)) == [sha(data) for data in PHOTOS]
