"""Fixtures for the bot's end-to-end tests: the real ``bot.py`` process (aiogram,
long polling) started once per test module on that module's stack, and a
:class:`Chat` to talk to it as a seller through the sandbox's control API.

Each ``tests/test_bot_*.py`` module imports ``stack`` and ``fresh`` from
:mod:`tests.pipeline_fixtures` and ``bot`` from here, so each gets its own
sandbox, database, worker and bot; seller ids may therefore repeat across
modules, and ``ADMIN_ID`` stays outside the range they are drawn from.

Every bot test asserts the exact texts and buttons the seller sees, in the
language of their Telegram client, and what the ledger and the jobs table say.
"""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path

import pytest

from neurocards.models import Job, User
from neurocards.settings import load_settings
from neurocards.texts import text
from tests.stack import wait_for_final

__all__ = ["ADMIN_ID", "seller_ids", "bot", "bot_messages", "Chat", "buttons"]

#: The Telegram id the bot treats as an admin.
ADMIN_ID = 990_000_001
#: Telegram ids for sellers, far from ``ADMIN_ID`` and from the pipeline tests' ids.
seller_ids = itertools.count(800_000_001)


@pytest.fixture(scope="module")
def bot(request, stack):
    """The module's stack with the real bot polling it, ``ADMIN_ID`` its admin (a
    module's ``ADMIN_IDS`` names more)."""
    admins = getattr(request.module, "ADMIN_IDS", (ADMIN_ID,))
    stack.env["NEUROCARDS_TELEGRAM__ADMIN_IDS"] = json.dumps(list(admins))
    stack.start_bot()
    # the bot answers /start once it is polling
    probe = next(seller_ids)
    stack.tg.send_command(probe, "start")
    stack.tg.wait_for(lambda t: bot_messages(t), timeout=60, chat_id=probe)
    yield stack
    # keep the last bot's log for a look after the run
    log = Path(stack.dir) / "bot.log"
    if log.exists():
        log.replace("/tmp/neurocards-last-bot.log")


def bot_messages(transcript, kind="bot_message"):
    return [e for e in transcript["events"] if e["type"] == kind]


class Chat:
    """One seller's conversation with the bot."""

    def __init__(self, stack, language: str = "en", user_id: int | None = None) -> None:
        self.stack = stack
        self.tg = stack.tg
        self.id = user_id or next(seller_ids)
        self.language = language

    def t(self, key: str, **values) -> str:
        """A catalogue text as the seller sees it (HTML entities resolved)."""
        return html.unescape(text(self.language, key, **values))

    # acting
    def command(self, name: str, args: str = ""):
        return self.tg.send_command(self.id, name, args, language_code=self.language)

    def say(self, words: str):
        return self.tg.send_text(self.id, words, language_code=self.language)

    def photo(self, caption: str | None = None, **kwargs):
        return self.tg.send_photo(self.id, caption=caption, language_code=self.language, **kwargs)

    def document(self, **kwargs):
        return self.tg.send_document(self.id, language_code=self.language, **kwargs)

    def press(self, **kwargs):
        return self.tg.press(self.id, **kwargs)

    # reading
    def messages(self):
        return bot_messages(self.tg.transcript(self.id))

    def wait_text(self, expected: str, timeout: float = 20.0) -> dict:
        def find(transcript):
            found = [e for e in bot_messages(transcript) if (e.get("text") or e.get("caption")) == expected]
            return found[-1] if found else None

        try:
            return self.tg.wait_for(find, timeout=timeout, chat_id=self.id)
        except TimeoutError:
            seen = [(e.get("text") or e.get("caption")) for e in self.messages()]
            raise AssertionError(f"never saw {expected!r}; the bot said {seen!r}") from None

    def wait_edited(self, message: dict, expected: str, timeout: float = 20.0) -> None:
        """The bot's ``message`` edited in place to ``expected``."""
        self.tg.wait_for(lambda t: t["messages"][str(message["message_id"])].get("text") == expected,
                         timeout=timeout, chat_id=self.id)

    def wait_answer(self, query_id: str, timeout: float = 20.0) -> dict:
        def find(transcript):
            found = [e for e in transcript["events"]
                     if e["type"] == "callback_answer" and e.get("callback_query_id") == query_id]
            return found[-1] if found else None

        return self.tg.wait_for(find, timeout=timeout, chat_id=self.id)

    def wait_video(self, count: int = 1, timeout: float = 60.0) -> list[dict]:
        return self.tg.wait_for(
            lambda t: (v := [e for e in bot_messages(t) if e.get("video")]) and len(v) >= count and v,
            timeout=timeout, chat_id=self.id,
        )

    def jobs(self) -> list[Job]:
        return list(Job.select().where(Job.user == self.id).order_by(Job.created_at))

    def ended_jobs(self) -> list[Job]:
        """The seller's jobs once every one has ended (the video in the chat comes
        a moment before the job is marked done)."""
        return [wait_for_final(job.id) for job in self.jobs()]

    def balance(self) -> int:
        return User.get_by_id(self.id).balance

    def start(self) -> None:
        self.command("start")
        self.wait_text(self.t("start", price=1, balance=load_settings().credits.welcome) + "\n\n"
                       + self.t("start.welcome", credits=load_settings().credits.welcome))


def buttons(event) -> list[tuple[str, str]]:
    markup = event.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]
