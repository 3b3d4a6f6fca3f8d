"""Styles (issue 21): after the photo and its description the seller picks a look
with one tap, which starts the video; their last look is offered first next time,
"No style" stays; the prompt model is told the look and to keep the product as
it is.  An old picker's button, a forged style and a second tap start nothing more.
"""

from __future__ import annotations

import time

import httpx
import pytest

from neurocards.models import LedgerEntry, User
from neurocards.money import credits
from neurocards.settings.styles import DEFAULT_STYLES
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import PRODUCT_JPG, fresh, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final

STACK_ENV = {"NEUROCARDS_STYLES__ASK_BEFORE_START": "true"}  # the product's default (the suite's stacks: off)

pytestmark = pytest.mark.usefixtures("bot")

STUDIO = DEFAULT_STYLES[0]
FIDELITY = "every printed text, label and logo unchanged and legible"


def picker_buttons(chat: Chat, photo_message_id: int, last: str = "") -> list[tuple[str, str]]:
    ordered = sorted(DEFAULT_STYLES, key=lambda style: style.name != last)
    shown = [(("✓ " if style.name == last else "") + style.label_en, f"style:{style.name}:{photo_message_id}")
             for style in ordered]
    return [*shown, (("✓ " if not last else "") + chat.t("style.none"), f"style:none:{photo_message_id}")]


def picker_with_ideas(chat: Chat, photo_message_id: int, last: str = "") -> list[tuple[str, str]]:
    return [*picker_buttons(chat, photo_message_id, last), (chat.t("button.ideas"), f"ideas:{photo_message_id}"),
            (chat.t("button.several"), f"several:{photo_message_id}:0")]


def system_prompts(stack) -> list[str]:
    requests = httpx.get(f"{stack.openai.url}/_sandbox/openai/requests").json()["requests"]
    return [request["body"]["messages"][0]["content"] for request in requests]


def debits(chat: Chat) -> int:
    return LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit")).count()


def test_a_photo_offers_the_looks_and_one_tap_starts_the_video_in_it(bot):
    chat = Chat(bot)
    chat.start()
    sent = chat.photo(caption="Ceramic mug")["message"]

    picker = chat.wait_text(chat.t("style.ask", price=1))
    assert buttons(picker) == picker_with_ideas(chat, sent["message_id"])  # a new seller: "No style" marked
    assert chat.jobs() == []  # nothing started, nothing charged before the tap
    chat.press(callback_data=f"style:studio:{sent['message_id']}")

    chat.wait_edited(picker, chat.t("style.picked", style=STUDIO.label_en))
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.style, job.status, debits(chat)) == ("studio", "done", 1)
    assert User.get_by_id(chat.id).style == "studio"
    system = system_prompts(bot)[-1]
    assert f"- The look to give the video: {STUDIO.guidance}" in system and FIDELITY in system


def test_the_last_look_comes_first_and_no_style_stays(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 2, "test")
    first = chat.photo(caption="Linen apron")["message"]
    chat.wait_text(chat.t("style.ask", price=1))
    chat.press(callback_data=f"style:details:{first['message_id']}")
    chat.wait_video()

    second = chat.photo(caption="Linen apron, blue")["message"]
    picker = chat.tg.wait_for(lambda t: next((e for e in reversed(t["events"]) if e["type"] == "bot_message"
                                              and buttons(e) and buttons(e)[0][1].endswith(f":{second['message_id']}")),
                                             None), chat_id=chat.id)
    assert buttons(picker) == picker_with_ideas(chat, second["message_id"], last="details")
    chat.press(callback_data=f"style:none:{second['message_id']}")
    chat.wait_video(2)
    job = wait_for_final(chat.jobs()[-1].id)
    assert job.style == "" and User.get_by_id(chat.id).style == ""
    assert "The look to give the video" not in system_prompts(bot)[-1]

    chat.press(callback_data=f"job:again:{job.id}")  # "Generate again": the same look (none)
    chat.wait_video(3)
    assert wait_for_final(chat.jobs()[-1].id).style == ""


def test_without_a_caption_the_description_comes_first_then_the_look(bot):
    chat = Chat(bot)
    chat.start()
    sent = chat.photo()["message"]
    chat.wait_text(chat.t("ask_info"))
    chat.say("Soy candle in a glass jar")
    chat.wait_text(chat.t("style.ask", price=1))
    chat.say("what now?")
    chat.wait_text(chat.t("style.waiting"))
    chat.press(callback_data=f"style:seasonal:{sent['message_id']}")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.product_info, job.style) == ("Soy candle in a glass jar", "seasonal")


def test_old_forged_and_repeated_taps_start_nothing_more(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 5, "test")
    old = chat.photo(caption="First mug")["message"]
    chat.wait_text(chat.t("style.ask", price=1))
    new = chat.photo(caption="Second mug")["message"]
    chat.tg.wait_for(lambda t: sum(1 for e in t["events"] if e["type"] == "bot_message"
                                   and e.get("text") == chat.t("style.ask", price=1)) == 2, chat_id=chat.id)

    stale = chat.press(callback_data=f"style:studio:{old['message_id']}")  # the first photo's picker
    assert chat.wait_answer(stale["callback_query_id"])["text"] == chat.t("style.stale")
    forged = chat.press(callback_data=f"style:neon:{new['message_id']}", message_id=chat.messages()[-1]["message_id"])
    assert chat.wait_answer(forged["callback_query_id"])["text"] == chat.t("callback.unknown")
    garbage = chat.press(callback_data="style:studio:not-a-number", message_id=chat.messages()[-1]["message_id"])
    chat.wait_answer(garbage["callback_query_id"])  # answered (the fallback), not a crash
    assert chat.jobs() == []

    time.sleep(2)  # a seller gets 5 messages and taps in 2 s (the throttle); these are the sixth and seventh
    picker = chat.messages()[-1]["message_id"]
    first = chat.press(callback_data=f"style:studio:{new['message_id']}", message_id=picker)
    chat.wait_answer(first["callback_query_id"])
    # the same button again (the picker has lost its keyboard by now: the tap is delivered as sent)
    again = chat.press(callback_data=f"style:studio:{new['message_id']}", message_id=picker)
    assert chat.wait_answer(again["callback_query_id"])["text"] == chat.t("style.stale")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.product_info, job.style, debits(chat)) == ("Second mug", "studio", 1)


def ideas_for(info: str) -> list[str]:
    """What the sandbox's prompt model suggests for ``info`` (its deterministic answer)."""
    import json

    from neurocards.sandbox.openai_replies import sandbox_ideas

    return json.loads(sandbox_ideas([info]))["ideas"]


def test_suggest_ideas_offers_three_and_the_pick_becomes_the_brief_at_no_extra_charge(bot):
    chat = Chat(bot)
    chat.start()
    sent = chat.photo(caption="Wool scarf")["message"]
    picker = chat.wait_text(chat.t("style.ask", price=1))
    assert buttons(picker)[-2] == (chat.t("button.ideas"), f"ideas:{sent['message_id']}")

    chat.press(callback_data=f"ideas:{sent['message_id']}")

    ideas = ideas_for("Wool scarf")
    listed = "\n".join(f"{n}. {idea}" for n, idea in enumerate(ideas, start=1))
    chat.wait_edited(picker, chat.t("ideas.pick", price=1, ideas=listed))
    shown = chat.tg.transcript(chat.id)["messages"][str(picker["message_id"])]
    assert buttons(shown)[:3] == [(f"💡 {idea}", f"idea:{n}:{sent['message_id']}") for n, idea in enumerate(ideas)]
    assert (chat.jobs(), debits(chat)) == ([], 0)  # ideas are free
    chat.press(callback_data=f"idea:1:{sent['message_id']}")

    chat.wait_edited(picker, chat.t("idea.picked", idea=ideas[1]))
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.brief, job.style, debits(chat)) == (ideas[1], "", 1)
    prompt_request = httpx.get(f"{bot.openai.url}/_sandbox/openai/requests").json()["requests"][-1]
    assert f"The concept the seller picked for the video: {ideas[1]}" in \
        prompt_request["body"]["messages"][1]["content"][0]["text"]


def test_ideas_that_fail_leave_the_looks_and_a_forged_idea_starts_nothing(bot):
    chat = Chat(bot)
    chat.start()
    sent = chat.photo(caption="Desk lamp")["message"]
    picker = chat.wait_text(chat.t("style.ask", price=1))
    bot.fault("openai", "server_error", count=1, match={"endpoint": "chat"})
    chat.press(callback_data=f"ideas:{sent['message_id']}")
    chat.wait_edited(picker, chat.t("ideas.unavailable", price=1))
    shown = chat.tg.transcript(chat.id)["messages"][str(picker["message_id"])]
    assert buttons(shown) == [*picker_buttons(chat, sent["message_id"]),  # the looks, without "Suggest ideas"
                              (chat.t("button.several"), f"several:{sent['message_id']}:0")]

    forged = chat.press(callback_data=f"idea:7:{sent['message_id']}", message_id=picker["message_id"])
    assert chat.wait_answer(forged["callback_query_id"])["text"] == chat.t("style.stale")  # no ideas were given
    chat.press(callback_data=f"style:studio:{sent['message_id']}")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.style, job.brief, job.status) == ("studio", "", "done")
