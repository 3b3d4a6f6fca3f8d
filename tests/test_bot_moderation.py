"""No charge for a refusal we can see coming (issue 21): the seller's description
goes through OpenAI's moderation before anything is charged.  A flagged one is
sent back to be rewritten, the photo kept; a moderation outage never stops a
seller (the pipeline's own refusals still refund)."""

from __future__ import annotations

import pytest

from neurocards.models import LedgerEntry
from neurocards.money import credits
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.test_bot_payments import bot_counter

pytestmark = [pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module"),
              pytest.mark.usefixtures("bot")]


def charged(chat: Chat) -> int:
    return LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit")).count()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_flagged_description_is_refused_before_any_charge_and_can_be_rewritten(bot, language):
    chat = Chat(bot, language)
    chat.start()
    before = bot_counter(bot, "neurocards_refusals_total", stage="moderation")
    chat.photo(caption="Rifle case that can kill")

    refusal = chat.wait_text(chat.t("moderation.refused", what=", ".join(
        [chat.t("moderation.illicit"), chat.t("moderation.violence")])))
    assert buttons(refusal) == [(chat.t("button.skip"), "skip")]
    assert (chat.jobs(), charged(chat), chat.balance()) == ([], 0, 1)
    assert bot_counter(bot, "neurocards_refusals_total", stage="moderation") == before + 1
    assert bot.calls("openai").get("POST /v1/chat/completions", 0) == 0  # no prompt written either

    chat.say("Hard-shell case for tools")  # the photo was kept: only the line is asked again
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.product_info, job.status, charged(chat)) == ("Hard-shell case for tools", "done", 1)


def test_skip_after_a_refusal_goes_by_the_photo_alone(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Cocaine grinder")
    chat.wait_text(chat.t("moderation.refused", what=chat.t("moderation.illicit")))
    chat.press(callback_data="skip")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.product_info, job.status) == ("", "done")


def test_a_moderation_outage_lets_the_request_go_on(bot):
    chat = Chat(bot)
    chat.start()
    bot.fault("openai", "server_error", count=1, match={"endpoint": "moderations"})
    chat.photo(caption="Ceramic mug")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert job.status == "done"
    assert [fault["fired"] for fault in bot.faults("openai")] == [1]


def test_a_new_description_for_generate_again_is_moderated_too(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 1, "test")
    chat.photo(caption="Ceramic mug")
    chat.wait_video()
    [job] = chat.ended_jobs()
    chat.press(callback_data=f"job:edit:{job.id}")
    asked = chat.t("regenerate.ask_info", format="§", tier="§", price=1).split("§")[0]
    chat.tg.wait_for(lambda t: any((m.get("text") or "").startswith(asked) for m in chat.messages()),
                     chat_id=chat.id)
    chat.say("A mug to kill time")
    chat.wait_text(chat.t("moderation.refused", what=chat.t("moderation.violence")))
    assert charged(chat) == 1  # the first video's debit only
    chat.say("A mug for slow mornings")
    chat.wait_video(2)
    assert [j.product_info for j in chat.ended_jobs()] == ["Ceramic mug", "A mug for slow mornings"]


@pytest.mark.parametrize("fault", ["refusal", "content_filter", "content_policy"])
def test_a_photo_the_prompt_model_refuses_costs_nothing(bot, fault):
    # the prompt is written before the charge; the model's refusal, its filter or OpenAI's policy stops it there
    chat = Chat(bot)
    chat.start()
    before = bot_counter(bot, "neurocards_refusals_total", stage="prompt")
    bot.fault("openai", fault, count=1, match={"endpoint": "chat"})
    chat.photo(caption="Ceramic mug")
    chat.wait_text(chat.t("photo.refused"))
    assert (chat.jobs(), charged(chat), chat.balance()) == ([], 0, 1)
    assert bot_counter(bot, "neurocards_refusals_total", stage="prompt") == before + 1

    chat.photo(caption="Ceramic mug, another photo")  # the next photo goes through, its prompt written once
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.status, charged(chat)) == ("done", 1) and job.enhancing_at is None and job.openai_input_tokens > 0
    assert bot.calls("openai")["POST /v1/chat/completions"] == 2  # the refused one and this one: none in the worker


def test_an_openai_outage_before_the_charge_leaves_the_prompt_to_the_pipeline(bot):
    chat = Chat(bot)
    chat.start()
    bot.fault("openai", "server_error", count=1, match={"endpoint": "chat"})
    chat.photo(caption="Ceramic mug")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert job.status == "done" and job.enhancing_at is not None  # the worker wrote it
    assert bot.calls("openai")["POST /v1/chat/completions"] == 2
