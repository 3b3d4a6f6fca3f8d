"""The bot end to end, issue 14: with ``telegram.ops_chat_id`` set, report cards go
to the operators' chat (in its language) instead of to each admin, and a member
of that chat who is not an operator can't resolve them.
"""

from __future__ import annotations

import pytest

from neurocards.models import Report
from tests.bot_fixtures import ADMIN_ID, Chat, bot, bot_messages, buttons  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.test_bot_report import delivered, report, shown

#: The operators' chat (in the sandbox, a chat of its own that has written to the bot).
OPS_CHAT_ID = 990_000_002


@pytest.fixture(scope="module")
def ops_chat(stack):
    stack.env["NEUROCARDS_TELEGRAM__OPS_CHAT_ID"] = str(OPS_CHAT_ID)


pytestmark = pytest.mark.usefixtures("ops_chat", "bot")


def test_cards_go_to_the_ops_chat_and_only_operators_resolve_them(bot):
    # Given the operators' chat and an admin, both known to the bot
    ops = Chat(bot, "ru", user_id=OPS_CHAT_ID)
    ops.command("start")
    admin = Chat(bot, "en", user_id=ADMIN_ID)
    admin.command("start")
    greeting = bot.tg.wait_for(lambda t: bot_messages(t), chat_id=ADMIN_ID)[-1]
    bot.tg.wait_for(lambda t: bot_messages(t), chat_id=OPS_CHAT_ID)

    # When a seller reports a video
    seller = Chat(bot)
    job, video = delivered(seller, "Teapot")
    report(seller, job, video, "wrong_product")
    row = bot.tg.wait_for(lambda t: Report.get_or_none(Report.job == job.id), chat_id=seller.id)

    # Then the card is in the operators' chat, in its language, and not in the admin's
    ops.language = "ru"
    photo, clip = ops.tg.wait_for(
        lambda t: (m := bot_messages(t)) and len(m) >= 3 and (m[-2], m[-1]), chat_id=OPS_CHAT_ID, timeout=20)
    assert photo["caption"].startswith(f"🚩 Жалоба #{row.id} ")
    assert "Причина: 🔄 Не тот товар" in photo["caption"]
    assert buttons(clip) == [("💸 Вернуть", f"rs:{row.id}:refund"),
                             ("🔁 Переснять бесплатно", f"rs:{row.id}:rerun"),
                             ("✖️ Отклонить", f"rs:{row.id}:dismiss")]
    assert not any(m.get("caption", "").startswith("🚩") for m in admin.messages())

    # and a member of that chat who is not an operator is refused
    tap = ops.press(callback_data=f"rs:{row.id}:refund", message_id=clip["message_id"])
    assert ops.wait_answer(tap["callback_query_id"])["text"] == ops.t("ops.only")
    assert Report.get_by_id(row.id).status == "open"

    # while an operator's tap resolves it, and the seller is told
    admin.press(callback_data=f"rs:{row.id}:dismiss", message_id=greeting["message_id"])
    seller.wait_text(seller.t("report.outcome.dismissed", info="Teapot", support="@neurocards_support"))
    admin.wait_text(shown("en", "ops.resolved.dismissed", admin=ADMIN_ID))
    assert Report.get_by_id(row.id).status == "dismissed"
