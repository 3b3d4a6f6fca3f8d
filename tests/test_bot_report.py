"""The bot end to end, issue 14: "Report a problem" on a delivered video — the
seller's reasons, the operators' card (here: the admins, no ops chat set), the
one-tap "Refund", "Re-run free" and "Dismiss", each once whoever taps first,
refused to anyone but an operator, and the seller told the outcome.  The ledger
and the audit (checked after every test) agree.
"""

from __future__ import annotations

import html
import re

import pytest

from neurocards.models import Job, LedgerEntry, Report
from neurocards.money import credits
from neurocards.texts import text
from tests.bot_fixtures import ADMIN_ID, Chat, bot, bot_messages, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final

pytestmark = pytest.mark.usefixtures("bot")


def shown(language: str, key: str, **values) -> str:
    """A catalogue text as Telegram shows it: tags become formatting, entities characters."""
    return html.unescape(re.sub(r"<[^>]+>", "", text(language, key, **values)))


@pytest.fixture
def admin(bot):
    """The operator, in a chat with the bot (the cards go there)."""
    chat = Chat(bot, "en", user_id=ADMIN_ID)
    chat.command("start")
    bot.tg.wait_for(lambda t: bot_messages(t), chat_id=ADMIN_ID)
    return chat


def delivered(chat: Chat, caption: str) -> tuple[Job, dict]:
    chat.start()
    chat.photo(caption=caption)
    [video] = chat.wait_video()
    [job] = chat.ended_jobs()
    return job, video


def report(chat: Chat, job: Job, video: dict, reason: str) -> dict:
    """The seller presses "Report a problem" and picks ``reason``; the question they were asked."""
    chat.press(callback_data=f"job:report:{job.id}", message_id=video["message_id"])
    reasons = [(chat.t(f"report.reason.{r}"), f"rr:{job.id}:{r}")
               for r in ("wrong_product", "bad_quality", "text_artefacts", "other")]
    asked = chat.t("report.ask", info=job.product_info)
    question = chat.tg.wait_for(lambda t: next((m for m in bot_messages(t) if m.get("text") == asked
                                                and buttons(m) == reasons), None), chat_id=chat.id)
    chat.press(callback_data=f"rr:{job.id}:{reason}", message_id=question["message_id"])
    return question


def card(admin: Chat, report_row: Report, job: Job) -> tuple[dict, dict]:
    """The card the operator got: the photo with the report, then the video with the prompt and the buttons."""
    def find(transcript):
        messages = bot_messages(transcript)
        for index, message in enumerate(messages[:-1]):
            if message.get("caption", "").startswith(f"🚩 Report #{report_row.id} "):
                return message, messages[index + 1]
        return None

    return admin.tg.wait_for(find, chat_id=ADMIN_ID, timeout=20)


def movements(job_id) -> list[tuple[str, int, str]]:
    query = LedgerEntry.select().where(LedgerEntry.job == job_id).order_by(LedgerEntry.id)
    return [(entry.kind, entry.amount, entry.reason) for entry in query]


def test_a_report_reaches_the_operators_and_a_refund_goes_back_once(bot, admin):
    # Given a seller whose video came out badly
    chat = Chat(bot)
    job, video = delivered(chat, "Ceramic mug <350 ml>")
    question = report(chat, job, video, "bad_quality")

    # Then they are thanked, and the operators get the card
    chat.wait_edited(question, chat.t("report.received", info="Ceramic mug <350 ml>"))
    [row] = Report.select().where(Report.job == job.id)
    assert (row.reason, row.status, row.user_id) == ("bad_quality", "open", chat.id)
    job = Job.get_by_id(job.id)
    photo, clip = card(admin, row, job)
    assert photo["caption"] == shown("en", "ops.card", report=row.id, user=chat.id, job=job.id,
                                     made_in=html.unescape(text("en", "made_in", format="9:16 Reels / Shorts / TikTok", tier="Fast",
                                                                price=1)),
                                     reason="🌫 Bad quality", comment="", info="Ceramic mug <350 ml>")
    assert photo["photo"]["file_id"] and bot.tg.file_bytes(photo["photo"]["file_id"]) == bot.tg.file_bytes(
        job.photo_file_id)
    assert clip["video"]["file_id"] == job.video_file_id
    assert clip["caption"] == shown("en", "ops.card.prompt", prompt=" ".join(job.prompt.split()))
    assert buttons(clip) == [("💸 Refund", f"rs:{row.id}:refund"), ("🔁 Re-run free", f"rs:{row.id}:rerun"),
                             ("✖️ Dismiss", f"rs:{row.id}:dismiss")]

    # When an operator taps "Refund" (twice)
    first = admin.press(callback_data=f"rs:{row.id}:refund", message_id=clip["message_id"])
    admin.wait_text(shown("en", "ops.resolved.refunded", credits=1, admin=ADMIN_ID))
    again = admin.press(callback_data=f"rs:{row.id}:refund", message_id=clip["message_id"])

    # Then the credit goes back once, as the operator's own kind, and the seller is told
    assert admin.wait_answer(again["callback_query_id"])["text"] == shown("en", "ops.already", status="refunded",
                                                                          admin=ADMIN_ID)
    admin.wait_answer(first["callback_query_id"])
    chat.wait_text(chat.t("report.outcome.refunded", info="Ceramic mug <350 ml>", credits=1, balance=1))
    assert movements(job.id) == [("debit", -1, ""),
                                 ("goodwill_refund", 1, f"admin {ADMIN_ID} via report: #{row.id} bad_quality")]
    assert LedgerEntry.get(LedgerEntry.kind == "goodwill_refund").key == f"goodwill_refund:{job.id}"
    assert Report.get_by_id(row.id).status == "refunded" and chat.balance() == 1
    assert wait_for_final(job.id).status == "done"  # still delivered: never refunded by the pipeline


def test_something_else_in_their_words_and_a_free_re_run(bot, admin):
    chat = Chat(bot, "ru")
    job, video = delivered(chat, "Свеча")
    question = report(chat, job, video, "other")
    chat.wait_edited(question, chat.t("report.ask_comment", info="Свеча"))
    chat.say("На видео другой логотип")
    chat.wait_text(chat.t("report.received", info="Свеча"))
    row = Report.get(Report.job == job.id)
    assert (row.reason, row.comment) == ("other", "На видео другой логотип")
    photo, clip = card(admin, row, job)
    assert "In their words: “На видео другой логотип”" in photo["caption"]

    # When the operator re-runs it free of charge
    admin.press(callback_data=f"rs:{row.id}:rerun", message_id=clip["message_id"])

    # Then a new job makes the video again, at price 0, its zero debit naming the operator
    chat.wait_text(chat.t("report.outcome.rerun", info="Свеча"))
    chat.wait_video(count=2)
    rerun = Job.get(Job.parent == job.id)
    assert (rerun.price, rerun.product_info, rerun.photo_file_id, wait_for_final(rerun.id).status) == (
        0, "Свеча", job.photo_file_id, "done")
    assert Report.get_by_id(row.id).rerun_job_id == rerun.id
    [(kind, amount, reason)] = movements(rerun.id)
    assert (kind, amount) == ("debit", 0)
    assert reason == f"admin {ADMIN_ID} via report: #{row.id} other: free re-run of job {job.id}"
    assert chat.balance() == 0
    admin.wait_text(shown("en", "ops.resolved.rerun", job=rerun.id, admin=ADMIN_ID))


def test_only_operators_resolve_reports_and_a_dismissal_is_told(bot, admin):
    chat = Chat(bot)
    job, video = delivered(chat, "Lamp")
    report(chat, job, video, "text_artefacts")
    row = bot.tg.wait_for(lambda t: Report.get_or_none(Report.job == job.id), chat_id=chat.id)

    # A seller pressing an operator's button (forged data) is refused, and nothing moves
    tap = chat.press(callback_data=f"rs:{row.id}:refund", message_id=video["message_id"])
    answer = chat.wait_answer(tap["callback_query_id"])
    assert answer["text"] == chat.t("ops.only") and answer["show_alert"] in (True, "true")
    assert Report.get_by_id(row.id).status == "open" and chat.balance() == 0

    # The operator dismisses it: the seller is told, no credit moves
    _, clip = card(admin, row, job)
    admin.press(callback_data=f"rs:{row.id}:dismiss", message_id=clip["message_id"])
    chat.wait_text(chat.t("report.outcome.dismissed", info="Lamp", support="@neurocards_support"))
    assert Report.get_by_id(row.id).status == "dismissed" and chat.balance() == 0
    assert [kind for kind, _, _ in movements(job.id)] == ["debit"]


def test_a_video_is_reported_once_and_only_when_delivered(bot, admin):
    chat = Chat(bot)
    job, video = delivered(chat, "Scarf")
    question = report(chat, job, video, "wrong_product")
    chat.wait_edited(question, chat.t("report.received", info="Scarf"))
    tap = chat.press(callback_data=f"job:report:{job.id}", message_id=video["message_id"])
    assert chat.wait_answer(tap["callback_query_id"])["text"] == chat.t("report.already")
    assert Report.select().where(Report.job == job.id).count() == 1

    thief = Chat(bot)
    thief.start()
    own = thief.messages()[-1]["message_id"]  # forged data on a message of their own
    tap = thief.press(callback_data=f"rr:{job.id}:bad_quality", message_id=own)
    assert thief.wait_answer(tap["callback_query_id"])["text"] == thief.t("callback.not_yours")


def test_a_free_video_cannot_be_refunded(bot, admin):
    # Given a free re-run (price 0) that the seller reports again
    chat = Chat(bot)
    job, video = delivered(chat, "Bowl")
    report(chat, job, video, "bad_quality")
    row = bot.tg.wait_for(lambda t: Report.get_or_none(Report.job == job.id), chat_id=chat.id)
    _, clip = card(admin, row, job)
    admin.press(callback_data=f"rs:{row.id}:rerun", message_id=clip["message_id"])
    [_, second] = chat.wait_video(count=2)
    rerun = wait_for_final(bot.tg.wait_for(lambda t: Job.get_or_none(Job.parent == job.id), chat_id=chat.id).id)
    report(chat, rerun, second, "bad_quality")
    row2 = bot.tg.wait_for(lambda t: Report.get_or_none(Report.job == rerun.id), chat_id=chat.id)
    _, clip2 = card(admin, row2, rerun)

    # When the operator taps "Refund": nothing to give back, and the report stays open
    tap = admin.press(callback_data=f"rs:{row2.id}:refund", message_id=clip2["message_id"])
    assert admin.wait_answer(tap["callback_query_id"])["text"] == shown("en", "ops.nothing_to_refund")
    assert Report.get_by_id(row2.id).status == "open"
    admin.press(callback_data=f"rs:{row2.id}:dismiss", message_id=clip2["message_id"])
    chat.wait_text(chat.t("report.outcome.dismissed", info="Bowl", support="@neurocards_support"))
    assert credits.balance_of(chat.id) == 0
