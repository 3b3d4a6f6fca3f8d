"""Nobody mints credits (issue 16): the webhook accepts only Telegram (a secret
derived when none is configured), KIE's callback is a capped doorbell that a
flood can't turn into a flood of polls, and the bot never sends real keys to the
sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from neurocards.models import Job, Payment, User
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.settings import ROOT, load_settings
from tests.bot_fixtures import Chat, bot, bot_messages, seller_ids  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.services import free_port, wait_until
from tests.stack import wait_for_status

pytestmark = pytest.mark.usefixtures("bot")

TOKEN = "333333333:SECURITY-neurocards-test-token"


def _metric(port: int, name: str) -> float:
    body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return next((float(line.split()[-1]) for line in body.splitlines() if line.startswith(name + " ")), 0.0)


@pytest.fixture(scope="module")
def webhook_bot(bot):
    """A second bot, in webhook mode with no secret configured."""
    bot.tg.register_token(TOKEN)
    ports = {"web": free_port(), "metrics": free_port()}
    saved = dict(bot.env)
    bot.env.update({
        "NEUROCARDS_TELEGRAM__TOKEN": TOKEN,
        "NEUROCARDS_TELEGRAM__MODE": "webhook",
        "NEUROCARDS_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{ports['web']}",
        "NEUROCARDS_TELEGRAM__WEBHOOK_SECRET": "",
        "NEUROCARDS_SANDBOX__ACCEPT_REAL_KEYS": "true",
        "NEUROCARDS_TELEGRAM__WEB_PORT": str(ports["web"]),
        "NEUROCARDS_METRICS__BOT_PORT": str(ports["metrics"]),
    })
    try:
        bot.start_bot("webhook-bot")
    finally:
        bot.env.clear()
        bot.env.update(saved)
    wait_until(lambda: _healthy(ports["web"]), timeout=60, what="the webhook bot")
    yield ports
    bot.stop("webhook-bot")


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _forged_payment(user_id: int) -> dict:
    return {"update_id": 9_000_001, "message": {
        "message_id": 1, "date": 1_764_000_000, "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Mallory"},
        "successful_payment": {"currency": "XTR", "total_amount": 240, "invoice_payload": "anything",
                               "telegram_payment_charge_id": "stx-forged", "provider_payment_charge_id": "x"}}}


def _forged_start(user_id: int) -> dict:
    return {"update_id": 9_000_002, "message": {
        "message_id": 2, "date": 1_764_000_000, "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Victim"}, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


def test_the_webhook_derives_a_secret_and_refuses_updates_without_it(bot, webhook_bot):
    # Telegram (the sandbox, told the derived secret by setWebhook) gets through
    with TelegramSandbox(bot.telegram.url, token=TOKEN) as tg:
        user = next(seller_ids)
        tg.send_command(user, "start", language_code="en")
        assert tg.wait_for(lambda t: bot_messages(t), timeout=30, chat_id=user)[0]["text"].startswith("Hi!")

    # forged updates, with no secret or a wrong one, are refused and change nothing
    url = f"http://127.0.0.1:{webhook_bot['web']}/telegram/webhook"
    victim = next(seller_ids)
    attempts = [
        httpx.post(url, json=_forged_payment(user)),
        httpx.post(url, json=_forged_payment(user), headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}),
        httpx.post(url, json=_forged_start(victim)),
    ]
    assert [response.status_code for response in attempts] == [401, 401, 401]
    assert Payment.select().where(Payment.telegram_charge_id == "stx-forged").count() == 0
    assert User.get_or_none(User.id == victim) is None
    assert User.get_by_id(user).balance == load_settings().credits.welcome
    assert _metric(webhook_bot["metrics"], "neurocards_webhook_refused_total") == 3


def _web(bot, path: str) -> str:
    return f"http://127.0.0.1:{bot.env['NEUROCARDS_TELEGRAM__WEB_PORT']}{path}"


def test_a_flood_of_kie_callbacks_makes_one_poll(bot):
    # Given a job filming at KIE for a while
    httpx.post(f"{bot.kie.url}/_sandbox/kie/config", json={"generation_s": 3}).raise_for_status()  # under the stack's 4 s deadline
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Flask")
    job = wait_until(lambda: (jobs := chat.jobs()) and jobs[0].kie_task_id and jobs[0], what="the KIE task")
    job = wait_for_status(job.id, ("generating",))
    url = _web(bot, f"/kie/callback/{job.id}/{job.callback_secret}")
    body = {"code": 200, "msg": "ok", "data": {"taskId": job.kie_task_id, "info": {"resultUrls": ["http://evil/x"]}}}
    polls_before = bot.calls("kie").get("record-info", 0)
    seq_before = Job.get_by_id(job.id).poll_count

    # When forty callbacks arrive at once
    with httpx.Client() as client, ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda _: client.post(url, json=body).json()["outcome"], range(40)))

    # Then the bell rang at most once per poll the job went through meanwhile, and
    # KIE was asked about as often as the polls alone would have asked it
    polls_passed = Job.get_by_id(job.id).poll_count - seq_before
    accepted = outcomes.count("accepted")
    assert 1 <= accepted <= polls_passed + 1, (accepted, polls_passed)
    assert accepted + outcomes.count("repeated") + outcomes.count("stale") == 40
    kie_polls = bot.calls("kie").get("record-info", 0) - polls_before
    assert kie_polls <= 2 * (polls_passed + 1), (kie_polls, polls_passed)
    chat.wait_video(timeout=120)
    assert Job.get_by_id(job.id).result_url != "http://evil/x"


def test_an_oversize_kie_callback_is_refused(bot):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Bowl")
    chat.wait_video()
    [job] = chat.ended_jobs()
    url = _web(bot, f"/kie/callback/{job.id}/{job.callback_secret}")
    assert httpx.post(url, content=b"{" + b" " * (128 * 1024) + b"}").status_code == 413
    assert httpx.post(_web(bot, f"/kie/callback/{uuid.uuid4()}/x"), json={}).status_code == 404


def test_the_bot_refuses_to_send_real_keys_to_the_sandbox(bot):
    env = {**os.environ, **bot.env, "NEUROCARDS_SANDBOX__ENABLED": "on", "NEUROCARDS_KIE__API_KEY": "real-kie-key",
           "NEUROCARDS_TELEGRAM__WEB_PORT": "0", "NEUROCARDS_METRICS__BOT_PORT": "0"}
    env.pop("NEUROCARDS_SANDBOX__ACCEPT_REAL_KEYS", None)
    result = subprocess.run([sys.executable, str(ROOT / "bot.py")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout.strip() == ('bot: sandbox.enabled is on while real keys are set (kie.api_key); refusing to '
                                     'send them to the local stand-ins (set sandbox.enabled = "auto" or "off")')
    assert "real-kie-key" not in result.stdout + result.stderr
