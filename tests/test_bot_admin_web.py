"""The bot end to end, beyond sellers: admin commands, one polling instance per token,
and its web app (/healthz and ``neurocards health``, KIE's callback reaching it from
outside, webhook mode).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from neurocards.models import Job
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.settings import ROOT, SANDBOX_BOT_TOKEN
from tests.bot_fixtures import ADMIN_ID, Chat, bot, bot_messages, seller_ids  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.services import free_port, wait_until

pytestmark = pytest.mark.usefixtures("bot")


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
    admin.command("grant", f"{seller.id} 5 goodwill for a late video")
    admin.wait_text(f"Granted +5 to {seller.id}; balance now 6.")
    assert seller.balance() == 6
    # the trail: who, when, what and why, in the ledger and in `neurocards stats`
    from neurocards.models import LedgerEntry
    from tests.conftest import run_cli

    grant = LedgerEntry.get((LedgerEntry.user == seller.id) & (LedgerEntry.kind == "grant"))
    assert grant.reason == f"admin {ADMIN_ID} via /grant: goodwill for a late video"
    stats = run_cli("stats", env=bot.env).stdout
    assert (f"operator: {grant.created_at:%Y-%m-%d %H:%M:%S} grant +5 seller {seller.id} — admin {ADMIN_ID} via "
            "/grant: goodwill for a late video") in stats
    admin.command("stats")
    bot.tg.wait_for(lambda t: any((e.get("text") or "").startswith("Today (UTC)") for e in bot_messages(t)),
                    chat_id=admin.id)
    seller.photo(caption="Pan")
    seller.wait_video()
    [job] = seller.ended_jobs()
    admin.command("job", str(job.id))
    bot.tg.wait_for(lambda t: any(f"Job {job.id}" in (e.get("text") or "") for e in bot_messages(t)), chat_id=admin.id)
    admin.command("grant", "nonsense")
    admin.wait_text("Usage: /grant <telegram_id> <credits> [why] (credits may be negative, not 0)")


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
    assert httpx.post(_web(bot, "/kie/callback/not-a-uuid/x"), json={}).status_code == 404
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
        "NEUROCARDS_SANDBOX__ACCEPT_REAL_KEYS": "true",  # a second token, on the sandbox on purpose
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
        user = next(seller_ids)
        tg.send_command(user, "start", language_code="en")
        reply = tg.wait_for(lambda t: bot_messages(t), timeout=30, chat_id=user)
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
    wait_until(lambda: _up(port), timeout=60, what=f"the webhook bot on {port}")
