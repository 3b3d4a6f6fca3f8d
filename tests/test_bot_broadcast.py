"""The bot end to end, issue 14: /broadcast — a preview and one confirmation, sent to
every seller who has not blocked the bot at its own pace (sellers who blocked it
marked and skipped), a progress line edited in place, a final report, and the
broadcasts table as the audit trail.  Operators only.
"""

from __future__ import annotations

import pytest

from neurocards import users
from neurocards.models import Broadcast, User
from tests.bot_fixtures import ADMIN_ID, Chat, bot, bot_messages  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.test_bot_report import shown

#: The broadcasts' pace here: slow enough to watch a seller be answered meanwhile.
BROADCAST_PER_S = 4


@pytest.fixture(scope="module")
def pace(stack):
    stack.env["NEUROCARDS_TELEGRAM__BROADCAST_PER_S"] = str(BROADCAST_PER_S)


pytestmark = pytest.mark.usefixtures("pace", "bot")


@pytest.fixture
def admin(bot, redis_server):
    # each test's operator starts with a fresh throttle count (5 messages or taps per 2 s):
    # a quick test's taps and the next one's commands may fall in the same window
    client = redis_server.client()
    for key in client.scan_iter(f"neurocards:throttle:{ADMIN_ID}:*"):
        client.delete(key)
    client.close()
    chat = Chat(bot, "en", user_id=ADMIN_ID)
    chat.command("start")
    bot.tg.wait_for(lambda t: bot_messages(t), chat_id=ADMIN_ID)
    return chat


def audience() -> int:
    return User.select().where(User.blocked == False).count()  # noqa: E712


def sellers(bot, count: int) -> list[Chat]:
    chats = [Chat(bot) for _ in range(count)]
    for chat in chats:
        chat.start()
    return chats


def broadcast(admin: Chat, words: str, expected_preview: str) -> tuple[Broadcast, dict]:
    """The admin's /broadcast: the preview, then the question with the buttons."""
    admin.command("broadcast", words)
    admin.wait_text(expected_preview)
    row = admin.tg.wait_for(lambda t: Broadcast.select().where(Broadcast.admin_id == ADMIN_ID)
                            .order_by(Broadcast.id.desc()).first(), chat_id=ADMIN_ID)
    question = admin.wait_text(admin.t("broadcast.confirm", id=row.id, count=audience()))
    return row, question


def test_a_confirmed_broadcast_reaches_every_seller_who_has_not_blocked_the_bot(bot, admin):
    # Given sellers: three listening, one who blocked the bot without our knowing (Telegram answers
    # 403), one Telegram refuses to write to for another reason, and one known to have blocked the bot
    listening = sellers(bot, 3)
    gone, unreachable, known_gone = sellers(bot, 3)
    bot.fault("telegram", "forbidden", match={"method": "sendMessage", "chat_id": gone.id})
    bot.fault("telegram", "bad_request", match={"method": "sendMessage", "chat_id": unreachable.id},
              params={"description": "Bad Request: chat not found"})
    users.mark_blocked(known_gone.id)

    # When an operator broadcasts (characters that mean something in HTML included) and confirms twice
    words = "New: a <quality> tier & 16:9"
    row, question = broadcast(admin, words, words)
    total = audience()
    taps = [admin.press(callback_data=f"bc:{row.id}:1", message_id=question["message_id"]) for _ in range(2)]

    # Then it is sent once: a progress line, then the report
    report = admin.wait_text(shown("en", "broadcast.report", id=row.id, sent=total - 2, blocked=1, failed=1,
                                   total=total), timeout=30)
    answers = sorted(admin.wait_answer(tap["callback_query_id"]).get("text") or "" for tap in taps)
    assert answers[1].startswith(f"Broadcast #{row.id} is already ")
    progress = [m for m in admin.messages() if m.get("text", "").startswith(f"📣 Broadcast #{row.id}: ")
                and m["message_id"] != question["message_id"]]
    assert len(progress) == 1 and progress[0]["message_id"] < report["message_id"]
    final = shown("en", "broadcast.progress", id=row.id, done=total, total=total, sent=total - 2, blocked=1, failed=1)
    assert bot.tg.transcript(ADMIN_ID)["messages"][str(progress[0]["message_id"])]["text"] == final

    # and every listening seller got it once, exactly as written; who blocked the bot is marked
    for chat in listening:
        assert [m.get("text") for m in chat.messages()].count(words) == 1
    assert words not in [m.get("text") for m in known_gone.messages()]
    assert User.get_by_id(gone.id).blocked and not User.get_by_id(unreachable.id).blocked

    # and the audit trail says who, when, what and how it went
    row = Broadcast.get_by_id(row.id)
    assert (row.admin_id, row.text, row.status, row.total, row.sent, row.blocked, row.failed) == (
        ADMIN_ID, "New: a &lt;quality&gt; tier &amp; 16:9", "done", total, total - 2, 1, 1)
    assert row.created_at <= row.confirmed_at <= row.finished_at


def test_sellers_are_answered_while_a_broadcast_is_on_its_way(bot, admin):
    # Given sellers, three of whom will write while the broadcast is on its way to them (sellers
    # get it in the order of their ids: these three after the twelve before them)
    before = sellers(bot, 12)
    writing = sellers(bot, 3)
    words = "Weekend: videos in 16:9"
    row, question = broadcast(admin, words, words)
    total = audience()

    # When the broadcast is under way (paced at 4 a second, its messages go through the bot's
    # Telegram budget as bulk ones) and the three write at once
    admin.press(callback_data=f"bc:{row.id}:1", message_id=question["message_id"])
    bot.tg.wait_for(lambda t: words in [m.get("text") for m in bot_messages(t)], chat_id=before[0].id)
    for chat in writing:
        chat.command("balance")

    # Then each is answered ahead of the broadcast's remaining messages, their own copies among
    # them: a seller's reply never waits for the broadcast (no timing: Telegram's order of messages)
    first_line = writing[0].t("balance", balance=1, price=1)
    replies = [chat.tg.wait_for(lambda t: [m for m in bot_messages(t) if m.get("text", "").startswith(first_line)],
                                chat_id=chat.id)[0] for chat in writing]
    admin.wait_text(shown("en", "broadcast.report", id=row.id, sent=total, blocked=0, failed=0, total=total),
                    timeout=30)
    for chat, reply in zip(writing, replies):
        [copy] = [m for m in chat.messages() if m.get("text") == words]
        assert reply["seq"] < copy["seq"], "a seller's answer waited for the broadcast"


def test_a_cancelled_broadcast_sends_nothing(bot, admin):
    [chat] = sellers(bot, 1)
    row, question = broadcast(admin, "Never mind", "Never mind")
    admin.press(callback_data=f"bc:{row.id}:0", message_id=question["message_id"])
    bot.tg.wait_for(lambda t: t["messages"][str(question["message_id"])]["text"]
                    == admin.t("broadcast.cancelled", id=row.id), chat_id=ADMIN_ID)
    tap = admin.press(callback_data=f"bc:{row.id}:1", message_id=question["message_id"])
    assert admin.wait_answer(tap["callback_query_id"])["text"] == admin.t("broadcast.already", id=row.id,
                                                                          status="cancelled")
    assert Broadcast.get_by_id(row.id).status == "cancelled"
    assert not any(m.get("text") == "Never mind" for m in chat.messages())


def test_broadcasts_are_for_operators_only(bot, admin):
    admin.command("broadcast")
    admin.wait_text(shown("en", "broadcast.usage"))
    row, _ = broadcast(admin, "Operators only", "Operators only")
    [chat] = sellers(bot, 1)
    chat.command("broadcast", "Free credits for everyone!")
    chat.wait_text(chat.t("unknown_command"))
    own = chat.messages()[-1]["message_id"]
    tap = chat.press(callback_data=f"bc:{row.id}:1", message_id=own)
    assert chat.wait_answer(tap["callback_query_id"])["text"] == chat.t("ops.only")
    assert Broadcast.get_by_id(row.id).status == "draft" and Broadcast.select().count() >= 1
