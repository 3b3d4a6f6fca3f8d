"""The bot end to end, issues 14 and 20: presets (a format and what it is for) and
quality tiers ("Options", remembered per seller, the price shown is the price
debited), the regenerate panel under a delivered video (another preset of the
same film cut free from its clip), and the live ETA on the status message.
"""

from __future__ import annotations

import html
import re
import time

import httpx
import pytest

from neurocards import users
from neurocards.jobs import formats
from neurocards.settings.jobs import DEFAULT_PRESETS
from neurocards.models import LedgerEntry, User
from neurocards.money import credits
from neurocards.texts import text
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, probe_delivered, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final, wait_for_status

pytestmark = pytest.mark.usefixtures("bot")


def kie_request(stack, job) -> dict:
    """What KIE was asked to make for ``job``."""
    tasks = httpx.get(f"{stack.kie.url}/_sandbox/kie/tasks").json()["tasks"]
    return next(task["request"] for task in tasks if task["task_id"] == job.kie_task_id)


def debits(chat) -> list[int]:
    query = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit"))
    return [entry.amount for entry in query.order_by(LedgerEntry.id)]


def shown(chat, key: str, **values) -> str:
    """A catalogue text as the seller reads it: tags become formatting, entities characters."""
    return html.unescape(re.sub(r"<[^>]+>", "", text(chat.language, key, **values)))


def preset(chat, name: str) -> str:
    """The preset's label as the seller reads it: "3:4 Wildberries card"."""
    return formats.preset_label(chat.language, next(p for p in DEFAULT_PRESETS if p.name == name))


def default_panel(chat) -> str:
    return shown(chat, "options.title", format=preset(chat, "reels"), tier=chat.t("tier.fast"), price=1)


def made_in(chat, preset_name: str, tier: str, price: int) -> str:
    return chat.t("made_in", format=preset(chat, preset_name), tier=chat.t(tier), price=price)


def kie_tasks(stack) -> int:
    return len(httpx.get(f"{stack.kie.url}/_sandbox/kie/tasks").json()["tasks"])


# -- Options ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
def test_options_are_remembered_and_the_price_shown_is_the_price_debited(bot, language):
    # Given a seller with 3 credits, shown the defaults under /start
    chat = Chat(bot, language)
    chat.start()
    greeting = chat.messages()[-1]
    assert buttons(greeting) == [(chat.t("button.options", format="9:16", tier=chat.t("tier.fast"), price=1),
                                  "options")]
    credits.grant(chat.id, 2, "test")

    # When they open the Options and pick YouTube (16:9) in the quality tier
    chat.command("options")
    panel = chat.wait_text(default_panel(chat))
    fast, quality = chat.t("options.tier", tier=chat.t("tier.fast"), price=1), chat.t(
        "options.tier", tier=chat.t("tier.quality"), price=3)
    short = {name: chat.t(f"preset.short.{name}") for name in ("reels", "wildberries", "ozon", "feed", "square",
                                                                "youtube")}
    assert buttons(panel) == [(f"✓ 9:16 {short['reels']}", "opt:fast:reels"),
                              (f"3:4 {short['wildberries']}", "opt:fast:wildberries"),
                              (f"3:4 {short['ozon']}", "opt:fast:ozon"), (f"4:5 {short['feed']}", "opt:fast:feed"),
                              (f"1:1 {short['square']}", "opt:fast:square"),
                              (f"16:9 {short['youtube']}", "opt:fast:youtube"),
                              (f"✓ {fast}", "opt:fast:reels"), (quality, "opt:quality:reels"),
                              (chat.t("button.done"), "optok")]
    chat.press(callback_data="opt:quality:reels", message_id=panel["message_id"])
    chat.press(callback_data="opt:quality:youtube", message_id=panel["message_id"])
    expected = shown(chat, "options.title", format=preset(chat, "youtube"), tier=chat.t("tier.quality"), price=3)
    bot.tg.wait_for(lambda t: t["messages"][str(panel["message_id"])]["text"] == expected, chat_id=chat.id)
    chat.press(callback_data="optok", message_id=panel["message_id"])
    saved = chat.t("options.saved", format=preset(chat, "youtube"), tier=chat.t("tier.quality"), price=3)
    bot.tg.wait_for(lambda t: t["messages"][str(panel["message_id"])]["text"] == saved, chat_id=chat.id)
    seller = User.get_by_id(chat.id)
    assert (seller.tier, seller.aspect_ratio, seller.preset) == ("quality", "16:9", "youtube")
    time.sleep(2)  # past the throttle's window: that was 5 taps in a row

    # Then a photo with a caption is made in them, for the 3 credits the panel showed
    chat.photo(caption="Desk lamp")
    chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.status, job.tier, job.model, job.aspect_ratio, job.preset, job.price) == (
        "done", "quality", "veo3", "16:9", "youtube", 3)
    request = kie_request(bot, job)
    assert (request["model"], request["aspect_ratio"]) == ("veo3", "16:9")
    assert debits(chat) == [-3] and chat.balance() == 0


@pytest.mark.parametrize("ratio, size, preset", [("1:1", (360, 360), "square"), ("3:4", (360, 480), "wildberries"),
                                                 ("4:5", (360, 450), "feed")])
def test_a_format_veo_does_not_make_is_filmed_vertical_and_arrives_in_that_format(bot, ratio, size, preset,
                                                                                  tmp_path):
    # Given a seller whose Options say a format KIE does not film
    chat = Chat(bot)
    chat.start()
    users.remember_choice(chat.id, "fast", ratio)
    # When they send a photo
    chat.photo(caption="Scented candle")
    [video] = chat.wait_video()
    [job] = chat.ended_jobs()
    # Then KIE films 9:16, and the video in the chat is exactly that format, finished for its preset
    assert (job.aspect_ratio, job.price, job.preset) == (ratio, 1, preset)
    assert kie_request(bot, job)["aspect_ratio"] == "9:16"  # what Veo makes
    delivered = probe_delivered(bot, video, tmp_path)
    assert (delivered.width, delivered.height) == size and delivered.faststart
    assert (video["video"].get("width"), video["video"].get("height")) in ((*size,), (None, None))


def test_a_seller_short_of_their_tiers_price_is_told_that_price(bot):
    chat = Chat(bot)
    chat.start()  # 1 credit; the quality tier costs 3
    users.remember_choice(chat.id, "quality", "9:16")
    chat.photo(caption="Teapot")
    chat.wait_text(chat.t("no_credits.kept", balance=1, price=3, info="Teapot", minutes=30))
    assert chat.jobs() == [] and chat.balance() == 1


def test_the_ozon_preset_is_a_3_4_card_without_sound(bot, tmp_path):
    # Given a seller who picked the Ozon card (the catalogue plays it muted)
    chat = Chat(bot)
    chat.start()
    chat.command("options")
    panel = chat.wait_text(default_panel(chat))
    chat.press(callback_data="opt:fast:ozon", message_id=panel["message_id"])
    bot.tg.wait_for(lambda t: t["messages"][str(panel["message_id"])]["text"]
                    == shown(chat, "options.title", format=preset(chat, "ozon"), tier=chat.t("tier.fast"), price=1),
                    chat_id=chat.id)
    # When they send a photo
    chat.photo(caption="Ceramic bowl")
    [video] = chat.wait_video()
    [job] = chat.ended_jobs()
    # Then the job records the preset, and the video is 3:4 with no sound
    assert (job.aspect_ratio, job.preset) == ("3:4", "ozon")
    delivered = probe_delivered(bot, video, tmp_path)
    assert (delivered.width, delivered.height, delivered.audio_codec) == (360, 480, None)


@pytest.mark.parametrize("data", ["opt:platinum:reels", "opt:fast:tiktok", "opt:fast", "opt:fast:9x16"])
def test_a_forged_option_changes_nothing(bot, data):
    chat = Chat(bot)
    chat.start()
    chat.command("options")
    panel = chat.wait_text(default_panel(chat))
    answer = chat.wait_answer(chat.press(callback_data=data, message_id=panel["message_id"])["callback_query_id"])
    assert answer["text"] == chat.t("callback.unknown")
    seller = User.get_by_id(chat.id)
    assert (seller.tier, seller.aspect_ratio, seller.preset) == ("", "", "")


# -- the regenerate panel -----------------------------------------------------------------------------


def delivered(chat, caption="Linen apron"):
    chat.photo(caption=caption)
    [video] = chat.wait_video()
    [job] = chat.ended_jobs()
    return job, video


def test_another_format_or_tier_is_a_new_job_at_the_price_on_its_button(bot):
    # Given a delivered video (fast, 9:16) and 3 more credits
    chat = Chat(bot)
    chat.start()
    first, video = delivered(chat)
    credits.grant(chat.id, 3, "test")

    # When the seller opens "another format or quality" and picks YouTube (16:9), quality
    chat.press(callback_data=f"job:format:{first.id}", message_id=video["message_id"])
    panel = chat.wait_text(chat.t("regenerate.title", info="Linen apron",
                                  made_in=html.unescape(made_in(chat, "reels", "tier.fast", 1))))
    start_fast = chat.t("button.start", format=preset(chat, "reels"), tier=chat.t("tier.fast"), price=1)
    assert buttons(panel)[-1] == (start_fast, f"rg:{first.id.hex}:fast:reels:1")
    chat.press(callback_data=f"rp:{first.id}:quality:youtube", message_id=panel["message_id"])
    start = chat.t("button.start", format=preset(chat, "youtube"), tier=chat.t("tier.quality"), price=3)
    bot.tg.wait_for(lambda t: buttons(t["messages"][str(panel["message_id"])])[-1]
                    == (start, f"rg:{first.id.hex}:quality:youtube:3"), chat_id=chat.id)
    tap = chat.press(callback_data=f"rg:{first.id.hex}:quality:youtube:3", message_id=panel["message_id"])

    # Then a second job starts from the same photo, in 16:9 quality, debited the 3 shown
    assert chat.wait_answer(tap["callback_query_id"])["text"] == chat.t("callback.started")
    chat.wait_video(count=2)
    second = chat.ended_jobs()[1]
    assert (second.parent_id, second.photo_file_id, second.product_info) == (first.id, first.photo_file_id,
                                                                           "Linen apron")
    assert (second.tier, second.aspect_ratio, second.preset, second.price, second.status) == (
        "quality", "16:9", "youtube", 3, "done")
    assert debits(chat) == [-1, -3] and chat.balance() == 0
    # and the seller's own Options are left as they were
    assert User.get_by_id(chat.id).tier == ""


def test_another_format_of_the_same_film_is_cut_from_its_clip_free_without_a_new_kie_task(bot, tmp_path):
    # Given a delivered 9:16 video, and no credits left
    chat = Chat(bot)
    chat.start()
    first, video = delivered(chat, "Leather wallet")
    tasks = kie_tasks(bot)
    assert chat.balance() == 0

    # When the seller picks the Wildberries card (3:4, cut from the same vertical film)
    chat.press(callback_data=f"job:format:{first.id}", message_id=video["message_id"])
    panel = chat.wait_text(chat.t("regenerate.title", info="Leather wallet",
                                  made_in=html.unescape(made_in(chat, "reels", "tier.fast", 1))))
    chat.press(callback_data=f"rp:{first.id}:fast:wildberries", message_id=panel["message_id"])
    free = chat.t("button.start_free", format=preset(chat, "wildberries"), tier=chat.t("tier.fast"), price=0)
    title = shown(chat, "regenerate.title_free", info="Leather wallet",
                  made_in=html.unescape(made_in(chat, "wildberries", "tier.fast", 0)))
    edited = bot.tg.wait_for(lambda t: t["messages"][str(panel["message_id"])] if t["messages"][
        str(panel["message_id"])]["text"] == title else None, chat_id=chat.id)
    assert buttons(edited)[-1] == (free, f"rg:{first.id.hex}:fast:wildberries:0")
    tap = chat.press(callback_data=f"rg:{first.id.hex}:fast:wildberries:0", message_id=panel["message_id"])

    # Then a second video arrives, 3:4, cut from the first one's clip: no KIE task, no charge
    assert chat.wait_answer(tap["callback_query_id"])["text"] == chat.t("callback.started")
    second_video = chat.wait_video(count=2)[1]
    second = chat.ended_jobs()[1]
    assert (second.parent_id, second.status, second.price, second.aspect_ratio, second.preset) == (
        first.id, "done", 0, "3:4", "wildberries")
    assert (second.kie_task_id, second.generating_at) == (first.kie_task_id, None)
    assert kie_tasks(bot) == tasks and chat.balance() == 0 and debits(chat) == [-1, 0]
    cut = probe_delivered(bot, second_video, tmp_path)
    assert (cut.width, cut.height) == (360, 480) and cut.faststart


def test_a_free_start_for_a_format_that_needs_a_new_film_charges_nothing_and_starts_nothing(bot):
    # Given a delivered 9:16 video: 16:9 cannot be cut from it
    chat = Chat(bot)
    chat.start()
    first, video = delivered(chat, "Desk organiser")
    credits.grant(chat.id, 1, "test")
    # When a forged "Start" asks for YouTube (16:9) at the free price
    tap = chat.press(callback_data=f"rg:{first.id.hex}:fast:youtube:0", message_id=video["message_id"])
    # Then it is refused with the real price, and nothing starts or is charged
    answer = chat.wait_answer(tap["callback_query_id"])
    assert answer["text"] == chat.t("regenerate.price_changed", price=1)
    assert len(chat.jobs()) == 1 and chat.balance() == 1


def test_a_start_button_whose_price_changed_charges_nothing(bot):
    chat = Chat(bot)
    chat.start()
    first, video = delivered(chat)
    credits.grant(chat.id, 5, "test")
    tap = chat.press(callback_data=f"rg:{first.id.hex}:quality:reels:2", message_id=video["message_id"])
    answer = chat.wait_answer(tap["callback_query_id"])
    assert answer["text"] == chat.t("regenerate.price_changed", price=3) and answer["show_alert"] in (True, "true")
    assert len(chat.jobs()) == 1 and chat.balance() == 5


def test_again_with_a_new_description(bot):
    chat = Chat(bot)
    chat.start()
    first, video = delivered(chat, "Mug")
    credits.grant(chat.id, 1, "test")
    chat.press(callback_data=f"job:edit:{first.id}", message_id=video["message_id"])
    chat.wait_text(chat.t("regenerate.ask_info", format=preset(chat, "reels"),
                          tier=chat.t("tier.fast"), price=1))
    chat.say("Matte black mug, 350 ml, dishwasher safe")
    chat.wait_video(count=2)
    second = chat.ended_jobs()[1]
    assert (second.parent_id, second.product_info, second.photo_file_id) == (
        first.id, "Matte black mug, 350 ml, dishwasher safe", first.photo_file_id)
    assert debits(chat) == [-1, -1]


def test_generate_again_keeps_the_parents_format_and_tier(bot):
    chat = Chat(bot)
    chat.start()
    credits.grant(chat.id, 5, "test")
    users.remember_choice(chat.id, "quality", "1:1")
    first, video = delivered(chat, "Vase")
    chat.press(callback_data=f"job:again:{first.id}", message_id=video["message_id"])
    chat.wait_video(count=2)
    second = chat.ended_jobs()[1]
    assert (second.tier, second.aspect_ratio, second.price) == ("quality", "1:1", 3)
    assert debits(chat) == [-3, -3]


# -- the ETA on the status message --------------------------------------------------------------------


def test_the_status_message_shows_what_the_job_is_made_in_and_the_time_left_while_filming(bot):
    # Given KIE filming for a while, and a seller
    httpx.post(f"{bot.kie.url}/_sandbox/kie/config", json={"generation_s": 3}).raise_for_status()
    chat = Chat(bot)
    chat.start()

    # When they send a photo
    chat.photo(caption="Wool scarf")
    [job] = bot.tg.wait_for(lambda t: chat.jobs(), chat_id=chat.id)
    job = wait_for_status(job.id, ("generating",))

    # Then while it films, its status message says so, what it is made in and what it cost, and the time left
    filming = chat.t("status.generating", info="Wool scarf")
    time_left = {chat.t("eta.under_minute")} | {chat.t("eta.minutes", minutes=n) for n in range(1, 10)}

    def filming_lines(transcript):
        lines = transcript["messages"][str(job.status_message_id)]["text"].split("\n")
        return lines if lines[0] == filming else None

    lines = bot.tg.wait_for(filming_lines, chat_id=chat.id, timeout=10)
    assert lines[1] == made_in(chat, "reels", "tier.fast", 1)
    assert lines[-1] in time_left
    assert wait_for_final(job.id).status == "done"
    bot.tg.wait_for(lambda t: t["messages"][str(job.status_message_id)]["text"]
                    == chat.t("status.done", info="Wool scarf"), chat_id=chat.id)
