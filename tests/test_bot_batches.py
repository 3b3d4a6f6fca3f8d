"""Batches (issue 21): an album of 4-10 photos, or several looks of one product,
at one confirmation: N videos × price = total, every debit in one transaction or
none, each video a normal job, one summary edited as they end.  A batch queues
behind itself: never more of the seller's jobs running than their in-flight cap.
"""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from neurocards.models import Batch, Job, LedgerEntry
from neurocards.money import credits
from neurocards.settings.styles import DEFAULT_STYLES
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.test_bot_payments import invoice_of

STACK_ENV = {"NEUROCARDS_STYLES__ASK_BEFORE_START": "true"}  # the product's default: the look picker

pytestmark = [pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module"),
              pytest.mark.usefixtures("bot")]

COLOURS = ["navy", "olive", "maroon", "teal", "orange", "purple"]
CAP = 2  # telegram.max_jobs_in_flight


def product(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 500), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def album(chat: Chat, group: str, count: int, caption: str = "Spring collection") -> int:
    """Sends an album of ``count`` different products; the first photo's message id."""
    first = None
    for number in range(count):
        sent = chat.photo(caption=caption if number == 0 else None, data=product(COLOURS[number]),
                          media_group_id=group)["message"]
        first = first or sent["message_id"]
    return first


def debits(chat: Chat) -> list[int]:
    query = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit"))
    return [entry.amount for entry in query]


def most_running_at_once(jobs: list[Job]) -> int:
    """The most of ``jobs`` that were between starting and ending at one moment."""
    # a batch job's created_at is its release (its prompt may be written before the charge: no enhancing_at)
    events = sorted([(job.created_at, 1) for job in jobs] + [(job.done_at or job.failed_at, -1) for job in jobs],
                    key=lambda event: (event[0], event[1]))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def summary(chat: Chat) -> dict:
    batch = Batch.get(Batch.user == chat.id)
    return chat.tg.transcript(chat.id)["messages"][str(batch.summary_message_id)]


def test_an_album_of_five_products_is_one_confirmation_five_debits_five_videos_and_one_summary(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 4, "test")  # 5 in all

    photo = album(chat, "five", 5)

    offer = chat.wait_text(chat.t("batch.offer.album", count=5, price=1, total=5, balance=5))
    assert buttons(offer) == [(chat.t("batch.confirm", count=5, total=5), f"batch:{photo}:5:5"),
                              (chat.t("button.buy"), "packs"), (chat.t("batch.as_one"), f"asone:{photo}")]
    assert chat.jobs() == []
    chat.press(callback_data=f"batch:{photo}:5:5")

    chat.wait_edited(offer, chat.t("batch.started", count=5, total=5))
    chat.wait_video(5, timeout=120)
    jobs = chat.ended_jobs()
    assert [job.status for job in jobs] == ["done"] * 5 and {job.product_info for job in jobs} == {"Spring collection"}
    assert len({job.photo_path for job in jobs}) == 5 and {job.batch for job in jobs} == {Batch.get().id}
    assert debits(chat) == [-1] * 5 and chat.balance() == 0
    assert most_running_at_once(jobs) <= CAP  # the batch queued behind itself
    chat.tg.wait_for(lambda t: t["messages"][str(Batch.get(Batch.user == chat.id).summary_message_id)]["text"]
                     == chat.t("batch.summary", done=5, size=5) + "\n" + chat.t("batch.summary.ended"),
                     chat_id=chat.id, timeout=30)


def test_a_batch_the_balance_cant_cover_is_refused_whole_then_goes_on_after_a_top_up(bot):
    chat = Chat(bot)
    chat.start()  # 1 credit
    photo = album(chat, "short", 4, caption="Mugs")
    chat.wait_text(chat.t("batch.offer.album", count=4, price=1, total=4, balance=1))

    chat.press(callback_data=f"batch:{photo}:4:4")
    refusal = chat.wait_text(chat.t("batch.no_credits", total=4, balance=1))
    assert buttons(refusal) == [(chat.t("button.buy"), "packs")]
    assert (chat.jobs(), debits(chat), chat.balance()) == ([], [], 1)  # none made, nothing charged

    chat.command("buy")
    packs = chat.wait_text(chat.t("buy.title", price=1))
    chat.press(callback_data="buy:5:50", message_id=packs["message_id"])
    chat.tg.pay(chat.id, invoice_of(chat)["message_id"])
    chat.tg.wait_for(lambda t: chat.balance() == 6, chat_id=chat.id)
    time.sleep(2)  # a seller gets 5 messages and taps in 2 s (the throttle)

    chat.press(callback_data=f"batch:{photo}:4:4")  # the same offer goes on
    chat.wait_video(4, timeout=120)
    assert [job.status for job in chat.ended_jobs()] == ["done"] * 4
    assert debits(chat) == [-1] * 4 and chat.balance() == 2


def test_a_photo_of_the_batch_the_prompt_model_refuses_is_left_out_and_not_charged(bot):
    import uuid

    from neurocards.bot.flow import JOB_IDS

    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 3, "test")
    photo = album(chat, "refused", 4)
    offer = chat.wait_text(chat.t("batch.offer.album", count=4, price=1, total=4, balance=4))
    before = bot.calls("openai").get("POST /v1/chat/completions", 0)
    bot.fault("openai", "refusal", count=1, match={"endpoint": "chat"})  # one of the four prompts, written at once
    chat.press(callback_data=f"batch:{photo}:4:4", message_id=offer["message_id"])

    chat.wait_edited(offer, chat.t("batch.started", count=3, total=3))
    chat.wait_video(3, timeout=120)
    jobs = chat.ended_jobs()
    assert [job.status for job in jobs] == ["done"] * 3 and all(job.openai_input_tokens > 0 for job in jobs)
    ids = [uuid.uuid5(JOB_IDS, f"batch:{chat.id}:{photo}:{number}") for number in range(4)]
    [left_out] = [number for number, job_id in enumerate(ids, start=1) if job_id not in {job.id for job in jobs}]
    chat.wait_text(chat.t("batch.some_refused", numbers=str(left_out)))
    assert debits(chat) == [-1] * 3 and chat.balance() == 1 and Batch.get(Batch.user == chat.id).size == 3
    # every prompt written before the charge, none again in the worker
    assert bot.calls("openai")["POST /v1/chat/completions"] - before == 4


def test_a_batch_whose_every_photo_the_prompt_model_refuses_charges_nothing(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 3, "test")
    photo = album(chat, "allrefused", 4)
    offer = chat.wait_text(chat.t("batch.offer.album", count=4, price=1, total=4, balance=4))
    bot.fault("openai", "refusal", count=4, match={"endpoint": "chat"})
    chat.press(callback_data=f"batch:{photo}:4:4", message_id=offer["message_id"])
    chat.wait_text(chat.t("batch.all_refused"))
    assert (chat.jobs(), debits(chat), chat.balance()) == ([], [], 4)
    assert not Batch.select().where(Batch.user == chat.id).exists()


def test_a_batch_confirmed_twice_is_made_once(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 9, "test")
    photo = album(chat, "twice", 4)
    offer = chat.wait_text(chat.t("batch.offer.album", count=4, price=1, total=4, balance=10))
    # two taps at once: both delivered, whether or not the first has taken the keyboard away yet
    taps = [chat.press(callback_data=f"batch:{photo}:4:4", message_id=offer["message_id"]) for _ in range(2)]
    # the second is told the batch is under way: seen after the first (stale offer) or beside it (key taken)
    assert chat.wait_answer(taps[1]["callback_query_id"])["text"] in (chat.t("batch.stale"), chat.t("batch.already"))
    chat.wait_video(4, timeout=120)
    assert Batch.select().where(Batch.user == chat.id).count() == 1
    assert len(chat.ended_jobs()) == 4 and debits(chat) == [-1] * 4


def test_an_album_offered_as_a_batch_can_be_one_product_after_all(bot):
    chat = Chat(bot)
    chat.start()
    photo = album(chat, "asone", 5, caption="Teapot")
    chat.wait_text(chat.t("batch.offer.album", count=5, price=1, total=5, balance=1))
    chat.press(callback_data=f"asone:{photo}")
    chat.wait_text(chat.t("style.ask", price=1))
    chat.press(callback_data=f"style:none:{photo}")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.photo_count, job.batch, debits(chat)) == (3, None, [-1])


def test_several_videos_of_one_product_each_in_another_look(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 2, "test")
    sent = chat.photo(caption="Linen apron")["message"]
    picker = chat.wait_text(chat.t("style.ask", price=1))
    assert (chat.t("button.several"), f"several:{sent['message_id']}:0") in buttons(picker)
    chat.press(callback_data=f"several:{sent['message_id']}:0")
    chat.wait_edited(picker, chat.t("batch.how_many"))
    chat.press(callback_data=f"several:{sent['message_id']}:3")

    looks = ", ".join(style.label_en for style in DEFAULT_STYLES[:3])
    chat.wait_text(chat.t("batch.offer.looks", count=3, price=1, total=3, balance=3, looks=looks))
    chat.press(callback_data=f"batch:{sent['message_id']}:3:3")
    chat.wait_video(3, timeout=120)
    jobs = chat.ended_jobs()
    assert sorted(job.style for job in jobs) == sorted(style.name for style in DEFAULT_STYLES[:3])
    assert len({job.photo_path for job in jobs}) == 1 and debits(chat) == [-1] * 3


def test_a_video_of_a_batch_that_fails_is_refunded_and_the_summary_says_so(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 3, "test")
    # the first two jobs run at once (the cap) and are refused; the first of their free retries is refused again
    bot.fault("kie", "content_policy", count=3, params={"stage": "task"})
    photo = album(chat, "onefails", 4)
    chat.wait_text(chat.t("batch.offer.album", count=4, price=1, total=4, balance=4))
    chat.press(callback_data=f"batch:{photo}:4:4")
    chat.wait_video(3, timeout=120)
    jobs = chat.ended_jobs()
    assert sorted(job.status for job in jobs) == ["done"] * 3 + ["failed"]
    assert chat.balance() == 1  # the failed one's credit back
    chat.tg.wait_for(lambda t: summary(chat)["text"] == "\n".join([
        chat.t("batch.summary", done=3, size=4), chat.t("batch.summary.failed", failed=1),
        chat.t("batch.summary.ended")]), chat_id=chat.id, timeout=30)
