"""The bot end to end: /start registers a seller once with the welcome grant, in the
language of their Telegram client; /lang switches it; /help and /cancel answer.
"""

from __future__ import annotations

import pytest

from neurocards.models import LedgerEntry, User
from neurocards.settings import load_settings
from tests.bot_fixtures import Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("bot")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_start_registers_once_with_the_welcome_grant(bot, language):
    chat = Chat(bot, language)
    chat.start()
    chat.command("start")
    chat.wait_text(chat.t("start", price=1, balance=1))
    assert chat.balance() == 1
    assert LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "welcome")).count() == 1
    assert User.get_by_id(chat.id).language == language


def test_an_unknown_language_code_gets_russian(bot):
    chat = Chat(bot, "de")
    chat.command("start")
    chat.language = "ru"
    chat.wait_text(chat.t("start", price=1, balance=1) + "\n\n" + chat.t("start.welcome", credits=1))


def test_lang_switches_the_language(bot):
    chat = Chat(bot, "ru")
    chat.start()
    chat.command("lang")
    chat.wait_text(chat.t("lang.choose"))
    chat.press(callback_data="lang:en")
    chat.language = "en"
    bot.tg.wait_for(lambda t: t["messages"] and any(m.get("text") == chat.t("lang.set") for m in t["messages"].values()),
                    chat_id=chat.id)
    chat.command("help")
    chat.wait_text(chat.t("help", price=1, support=load_settings().telegram.support_contact).replace("<b>", "").replace("</b>", ""))


def test_cancel_with_and_without_a_question_pending(bot):
    chat = Chat(bot)
    chat.start()
    chat.command("cancel")
    chat.wait_text(chat.t("cancel.nothing"))
    chat.photo()
    chat.wait_text(chat.t("ask_info"))
    chat.command("cancel")
    chat.wait_text(chat.t("cancel.done"))
    chat.say("a mug")
    chat.wait_text(chat.t("send_photo"))
    assert chat.jobs() == []
