"""The bot sellers talk to, driven end to end: the real ``bot.py`` process (aiogram,
long polling) and a real worker, against the sandbox, through its control API.

Every test asserts the exact texts and buttons the seller sees, in the language
of their Telegram client, and what the ledger and the jobs table say.
"""

from __future__ import annotations

import html
import itertools
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from neurocards.models import Job, LedgerEntry, User
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.settings import ROOT, SANDBOX_BOT_TOKEN, get_settings
from neurocards.texts import text
from tests.pipeline_fixtures import PRODUCT_JPG, SAMPLE_MP4, fresh, stack  # noqa: F401  (fixtures)
from tests.services import free_port
from tests.stack import wait_for_final

TINY_PNG = PRODUCT_JPG.with_name("tiny.png")
ADMIN_ID = 990_000_001
_ids = itertools.count(800_000_001)

pytestmark = pytest.mark.usefixtures("bot")


@pytest.fixture(scope="module")
def bot(stack):
    stack.env["NEUROCARDS_TELEGRAM__ADMIN_IDS"] = f"[{ADMIN_ID}]"
    stack.start_bot()
    # the bot answers /start once it is polling
    probe = next(_ids)
    stack.tg.send_command(probe, "start")
    stack.tg.wait_for(lambda t: _bot_messages(t), timeout=60, chat_id=probe)
    yield stack
    (Path(stack.dir) / "bot.log").replace("/tmp/neurocards-last-bot.log") if (Path(stack.dir) / "bot.log").exists() else None


def _bot_messages(transcript, kind="bot_message"):
    return [e for e in transcript["events"] if e["type"] == kind]


class Chat:
    """One seller's conversation with the bot."""

    def __init__(self, stack, language: str = "en", user_id: int | None = None) -> None:
        self.stack = stack
        self.tg = stack.tg
        self.id = user_id or next(_ids)
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
        return _bot_messages(self.tg.transcript(self.id))

    def wait_text(self, expected: str, timeout: float = 20.0) -> dict:
        def find(transcript):
            found = [e for e in _bot_messages(transcript) if (e.get("text") or e.get("caption")) == expected]
            return found[-1] if found else None

        try:
            return self.tg.wait_for(find, timeout=timeout, chat_id=self.id)
        except TimeoutError:
            seen = [(e.get("text") or e.get("caption")) for e in self.messages()]
            raise AssertionError(f"never saw {expected!r}; the bot said {seen!r}") from None

    def wait_answer(self, query_id: str, timeout: float = 20.0) -> dict:
        def find(transcript):
            found = [e for e in transcript["events"]
                     if e["type"] == "callback_answer" and e.get("callback_query_id") == query_id]
            return found[-1] if found else None

        return self.tg.wait_for(find, timeout=timeout, chat_id=self.id)

    def wait_video(self, count: int = 1, timeout: float = 60.0) -> list[dict]:
        return self.tg.wait_for(
            lambda t: (v := [e for e in _bot_messages(t) if e.get("video")]) and len(v) >= count and v,
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
        self.wait_text(self.t("start", price=1, balance=get_settings().credits.welcome) + "\n\n"
                       + self.t("start.welcome", credits=get_settings().credits.welcome))


def buttons(event) -> list[tuple[str, str]]:
    markup = event.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


# -- /start, languages, help ----------------------------------------------------------------------


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
    chat.wait_text(chat.t("help", price=1, support=get_settings().telegram.support_contact).replace("<b>", "").replace("</b>", ""))


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


# -- the photo flow -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ru", "en"])
def test_a_photo_with_a_caption_comes_back_as_a_video(bot, language):
    # Given a new seller
    chat = Chat(bot, language)
    chat.start()

    # When they send a product photo with a caption
    chat.photo(caption="Ceramic mug <350 ml>")

    # Then a status message with "Generate again" appears, and the video follows
    [video] = chat.wait_video()
    [job] = chat.jobs()
    assert video["caption"] == chat.t("video.caption", info="Ceramic mug <350 ml>", balance=0)
    assert buttons(video) == [(chat.t("button.again"), f"job:again:{job.id}")]
    assert bot.tg.file_bytes(video["video"]["file_id"]) == SAMPLE_MP4.read_bytes()
    status = bot.tg.transcript(chat.id)["messages"][str(job.status_message_id)]
    assert buttons(status) in ([(chat.t("button.again"), f"job:again:{job.id}")], [])
    assert wait_for_final(job.id).status == "done"
    assert chat.balance() == 0
    bot.tg.wait_for(lambda t: t["messages"][str(job.status_message_id)]["text"]
                    == chat.t("status.done", info="Ceramic mug <350 ml>"), chat_id=chat.id)


def test_a_photo_without_a_caption_asks_for_one_then_starts(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo()
    question = chat.wait_text(chat.t("ask_info"))
    assert buttons(question) == [(chat.t("button.skip"), "skip")]
    chat.say("Linen apron, two pockets")
    chat.wait_video()
    [job] = chat.jobs()
    assert job.product_info == "Linen apron, two pockets"


def test_skip_starts_without_product_info(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo()
    chat.wait_text(chat.t("ask_info"))
    chat.press(callback_data="skip")
    chat.wait_video()
    [job] = chat.jobs()
    assert job.product_info == ""


def test_an_image_sent_as_a_file_is_used(bot):
    chat = Chat(bot)
    chat.start()
    chat.document(file_name="mug.jpg", mime_type="image/jpeg", data=PRODUCT_JPG.read_bytes(), caption="Mug")
    chat.wait_video()
    [job] = chat.jobs()
    assert Path(job.photo_path).read_bytes() == PRODUCT_JPG.read_bytes()


@pytest.mark.parametrize(
    "send, key",
    [
        (lambda c: c.document(file_name="catalog.pdf", mime_type="application/pdf", data=b"%PDF-1.4 x"), "photo.wrong_type"),
        (lambda c: c.document(file_name="clip.mp4", mime_type="video/mp4", data=SAMPLE_MP4.read_bytes()), "photo.video"),
        (lambda c: c.tg.send_video(c.id, language_code=c.language), "photo.video"),
        (lambda c: c.tg.send_sticker(c.id, language_code=c.language), "photo.sticker"),
        (lambda c: c.tg.send_voice(c.id, language_code=c.language), "photo.voice"),
        (lambda c: c.say("hello"), "send_photo"),
        (lambda c: c.command("frobnicate"), "unknown_command"),
        (lambda c: c.document(file_name="fake.jpg", mime_type="image/jpeg", data=b"not an image", caption="x"),
         "photo.unreadable"),
    ],
    ids=["pdf", "video-file", "video", "sticker", "voice", "text", "unknown-command", "broken-jpeg"],
)
@pytest.mark.parametrize("language", ["ru", "en"])
def test_what_is_not_a_product_photo_gets_its_own_answer(bot, send, key, language):
    chat = Chat(bot, language)
    chat.start()
    send(chat)
    chat.wait_text(chat.t(key))
    assert chat.jobs() == [] and chat.balance() == 1


def test_a_photo_over_20_mb_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Mug", file_size=25 * 1024 * 1024)
    chat.wait_text(chat.t("photo.too_big", size_mb="25.0"))
    assert chat.jobs() == []


def test_a_photo_under_256_px_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.document(file_name="tiny.png", mime_type="image/png", data=TINY_PNG.read_bytes(), caption="Mug")
    chat.wait_text(chat.t("photo.too_small", width=100, height=100))
    assert chat.jobs() == [] and chat.balance() == 1


def test_product_info_over_500_characters_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="x" * 501)
    chat.wait_text(chat.t("info_too_long", length=501, limit=500))
    assert chat.jobs() == []
    chat.say("A shorter line")
    chat.wait_video()
    assert [job.product_info for job in chat.jobs()] == ["A shorter line"]


def test_an_album_uses_its_first_photo_and_says_so(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Mug set", media_group_id="album-1")
    chat.photo(media_group_id="album-1")
    chat.photo(media_group_id="album-1")
    chat.wait_text(chat.t("album"))
    chat.wait_video()
    assert len(chat.jobs()) == 1
    assert sum(1 for m in chat.messages() if m.get("text") == chat.t("album")) == 1


def test_not_enough_credits_says_how_to_get_more(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="First")
    chat.wait_video()
    chat.photo(caption="Second")
    chat.wait_text(chat.t("no_credits", balance=0, price=1, support=get_settings().telegram.support_contact))
    assert len(chat.jobs()) == 1


def test_twenty_photos_in_a_second_start_at_most_the_in_flight_cap(bot):
    chat = Chat(bot)
    chat.start()
    from neurocards import credits

    credits.grant(chat.id, 30, "test")
    for n in range(20):
        chat.photo(caption=f"Mug {n}")
    chat.wait_video()
    assert 1 <= len(chat.jobs()) <= get_settings().telegram.max_jobs_in_flight
    debits = LedgerEntry.select().where((LedgerEntry.user == chat.id) & (LedgerEntry.kind == "debit")).count()
    assert debits == len(chat.jobs())


# -- "Generate again" and the buttons ---------------------------------------------------------------


def test_generate_again_reuses_the_photo_and_charges_once_per_job(bot):
    chat = Chat(bot)
    chat.start()
    from neurocards import credits

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
    from neurocards import credits

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


# -- admin ----------------------------------------------------------------------------------------------


def test_admin_commands_are_for_admins_only(bot):
    stranger = Chat(bot)
    stranger.start()
    stranger.command("stats")
    stranger.wait_text(stranger.t("unknown_command"))
    stranger.command("grant", f"{stranger.id} 100")
    stranger.wait_text(stranger.t("unknown_command"))
    assert stranger.balance() == 1


def test_admin_grant_stats_and_job(bot):
    admin = Chat(bot, user_id=ADMIN_ID)
    seller = Chat(bot)
    seller.start()
    admin.command("start")
    admin.command("grant", f"{seller.id} 5")
    admin.wait_text(f"Granted +5 to {seller.id}; balance now 6.")
    assert seller.balance() == 6
    admin.command("stats")
    bot.tg.wait_for(lambda t: any((e.get("text") or "").startswith("Today (UTC)") for e in _bot_messages(t)),
                    chat_id=admin.id)
    seller.photo(caption="Pan")
    seller.wait_video()
    [job] = seller.ended_jobs()
    admin.command("job", str(job.id))
    bot.tg.wait_for(lambda t: any(f"Job {job.id}" in (e.get("text") or "") for e in _bot_messages(t)), chat_id=admin.id)
    admin.command("grant", "nonsense")
    admin.wait_text("Usage: /grant <telegram_id> <credits> (credits may be negative, not 0)")


# -- one poller per token -------------------------------------------------------------------------------


def test_a_second_polling_instance_refuses_to_start(bot):
    second = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        env={**os.environ, **bot.env,
             "NEUROCARDS_TELEGRAM__WEB_PORT": "0", "NEUROCARDS_METRICS__BOT_PORT": "0"},
        capture_output=True, text=True, timeout=60,
    )
    assert second.returncode == 1
    assert "another instance is already polling" in second.stderr


# -- the web app: health, KIE's callback from outside, webhook mode ---------------------------------------


def _web(bot, path: str) -> str:
    return f"http://127.0.0.1:{bot.env['NEUROCARDS_TELEGRAM__WEB_PORT']}{path}"


def test_healthz_and_the_health_command(bot):
    assert httpx.get(_web(bot, "/healthz")).json() == {"ok": True}
    result = subprocess.run([str(Path(sys.executable).parent / "neurocards"), "health"],
                            env={**os.environ, **bot.env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[1].rstrip(":") for line in lines] == ["database", "redis", "workers", "telegram", "kie", "openai"]
    assert all(line.startswith("ok") for line in lines)
    assert SANDBOX_BOT_TOKEN not in result.stdout


def test_a_kie_callback_from_outside_is_checked(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Jug")
    chat.wait_video()
    [job] = chat.ended_jobs()
    url = _web(bot, f"/kie/callback/{job.id}/{job.callback_secret}")
    # an unknown job, a wrong secret: 404, nothing learned
    assert httpx.post(_web(bot, f"/kie/callback/{uuid.uuid4()}/x"), json={}).status_code == 404
    assert httpx.post(_web(bot, f"/kie/callback/not-a-uuid/x"), json={}).status_code == 404
    assert httpx.post(_web(bot, f"/kie/callback/{job.id}/wrong-secret"), json={}).status_code == 404
    # malformed bodies: 400
    assert httpx.post(url, content=b"{not json").status_code == 400
    assert httpx.post(url, json=["a", "list"]).status_code == 400
    # a well-formed callback for a job that already ended: acknowledged, changes nothing
    late = httpx.post(url, json={"code": 200, "msg": "ok", "data": {"taskId": job.kie_task_id,
                                                                    "info": {"resultUrls": ["http://x/y.mp4"]}}})
    assert late.status_code == 200 and late.json()["outcome"] == "stale"
    assert Job.get_by_id(job.id).status == "done" and len(chat.jobs()) == 1


WEBHOOK_TOKEN = "222222222:WEBHOOK-neurocards-test-token"


def test_webhook_mode_receives_updates_with_its_secret(bot):
    bot.tg.register_token(WEBHOOK_TOKEN)
    web_port = free_port()
    env = {
        "NEUROCARDS_TELEGRAM__TOKEN": WEBHOOK_TOKEN,
        "NEUROCARDS_TELEGRAM__MODE": "webhook",
        "NEUROCARDS_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{web_port}",
        "NEUROCARDS_TELEGRAM__WEBHOOK_SECRET": "webhook-secret-123",
        "NEUROCARDS_TELEGRAM__WEB_PORT": str(web_port),
        "NEUROCARDS_METRICS__BOT_PORT": str(free_port()),
    }
    saved = dict(bot.env)
    bot.env.update(env)
    try:
        bot.start_bot("webhook-bot")
    finally:
        bot.env.clear()
        bot.env.update(saved)
    _wait_up(web_port)
    with TelegramSandbox(bot.telegram.url, token=WEBHOOK_TOKEN) as tg:
        user = next(_ids)
        tg.send_command(user, "start", language_code="en")
        reply = tg.wait_for(lambda t: _bot_messages(t), timeout=30, chat_id=user)
        assert reply[0]["text"].startswith("Hi! I turn a product photo")
    # an update posted without the secret is refused
    forged = httpx.post(f"http://127.0.0.1:{web_port}/telegram/webhook", json={"update_id": 1})
    assert forged.status_code in (401, 403)
    bot.stop("webhook-bot")


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_up(port: int) -> None:
    from tests.services import wait_until

    wait_until(lambda: _up(port), timeout=60, what=f"the webhook bot on {port}")
