"""The bot end to end: the buttons under its messages ("Generate again", a double
tap, forged and malformed callback data) and /balance, /history and resending a video.
"""

from __future__ import annotations

import pytest

from neurocards.models import LedgerEntry
from tests.bot_fixtures import Chat, bot, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("bot")


# -- "Generate again" and the buttons ---------------------------------------------------------------


def test_generate_again_reuses_the_photo_and_charges_once_per_job(bot):
    chat = Chat(bot)
    chat.start()
    from neurocards.money import credits

    credits.grant(chat.id, 2, "test")
    chat.photo(caption="Teapot")
    chat.wait_video()
    [first] = chat.ended_jobs()
    answer = chat.wait_answer(chat.press(callback_data=f"job:again:{first.id}", message_id=first.video_message_id)["callback_query_id"])
    assert answer["text"] == chat.t("callback.started")
    chat.wait_video(count=2)
    second = chat.jobs()[1]
    assert (second.parent_id, second.product_info, second.photo_path) == (first.id, "Teapot", first.photo_path)
    assert chat.balance() == 1


def test_a_double_tap_starts_one_job(bot):
    chat = Chat(bot)
    chat.start()
    from neurocards.money import credits

    credits.grant(chat.id, 5, "test")
    chat.photo(caption="Vase")
    chat.wait_video()
    [first] = chat.ended_jobs()
    taps = [chat.press(callback_data=f"job:again:{first.id}", message_id=first.video_message_id) for _ in range(2)]
    answers = sorted(chat.wait_answer(tap["callback_query_id"])["text"] for tap in taps)
    assert answers == sorted([chat.t("callback.started"), chat.t("callback.already")])
    chat.wait_video(count=2)
    assert len(chat.jobs()) == 2
    debits = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit")).count()
    assert debits == 2


def test_a_forged_button_for_another_sellers_job_changes_nothing(bot):
    owner, thief = Chat(bot), Chat(bot)
    owner.start()
    thief.start()
    owner.photo(caption="Lamp")
    owner.wait_video()
    [job] = owner.ended_jobs()
    thief.photo(caption="Bait")  # so the thief has a message with buttons of their own
    thief.wait_video()
    [own] = thief.ended_jobs()
    tap = thief.press(callback_data=f"job:again:{job.id}", message_id=own.video_message_id)
    answer = thief.wait_answer(tap["callback_query_id"])
    assert answer["text"] == thief.t("callback.not_yours") and answer["show_alert"] in (True, "true")
    assert len(owner.jobs()) == 1 and len(thief.jobs()) == 1
    assert owner.balance() == 0 and thief.balance() == 0


@pytest.mark.parametrize("data", ["job:again:not-a-uuid", "job:again:00000000-0000-0000-0000-000000000000",
                                  "garbage", "job:explode:x", "lang:xx"])
def test_malformed_or_unknown_button_data_is_answered_and_ignored(bot, data):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Cup")
    chat.wait_video()
    [job] = chat.ended_jobs()
    answer = chat.wait_answer(chat.press(callback_data=data, message_id=job.video_message_id)["callback_query_id"])
    assert answer["text"] == chat.t("callback.unknown")
    assert len(chat.jobs()) == 1


# -- /balance, /history, resend ---------------------------------------------------------------------


def test_balance_shows_the_last_movements(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Bowl")
    chat.wait_video()
    chat.command("balance")
    [debit, welcome] = LedgerEntry.select().where(LedgerEntry.user == chat.id).order_by(LedgerEntry.id.desc())
    expected = "\n".join([
        chat.t("balance", balance=0, price=1),
        chat.t("balance.movements"),
        chat.t("balance.line", date=f"{debit.created_at:%d.%m %H:%M}", amount="-1", label=chat.t("ledger.debit")),
        chat.t("balance.line", date=f"{welcome.created_at:%d.%m %H:%M}", amount="+1", label=chat.t("ledger.welcome")),
    ])
    chat.wait_text(expected)


def test_history_lists_jobs_and_resends_a_video_at_no_charge(bot):
    chat = Chat(bot)
    chat.start()
    chat.command("history")
    chat.wait_text(chat.t("history.empty"))
    chat.photo(caption="Kettle")
    chat.wait_video()
    [job] = chat.ended_jobs()
    chat.command("history")
    listing = chat.wait_text("\n".join([
        chat.t("history.title"),
        chat.t("history.line", number=1, date=f"{job.created_at:%d.%m %H:%M}", status=chat.t("job.status.done"),
               info="Kettle"),
    ]))
    assert buttons(listing) == [(chat.t("history.resend", number=1), f"job:resend:{job.id}")]
    chat.press(callback_data=f"job:resend:{job.id}")
    chat.wait_video(count=2)
    assert chat.balance() == 0 and len(chat.jobs()) == 1


def test_a_burst_of_presses_is_throttled_but_every_press_answered(bot):
    chat = Chat(bot)
    chat.start()
    chat.command("lang")
    question = chat.wait_text(chat.t("lang.choose"))
    taps = [chat.press(callback_data="lang:en", message_id=question["message_id"]) for _ in range(12)]
    answers = [chat.wait_answer(tap["callback_query_id"]) for tap in taps]
    texts = [answer.get("text") or "" for answer in answers]
    assert len(answers) == 12
    assert chat.t("throttled") in texts  # some were refused, and said so
