"""``neurocards demo``: the whole product once, end to end, against the sandbox.

Starts whatever of the local stack is not running (embedded Redis, sandbox,
worker, bot), plays a seller who sends a product photo with a caption, waits
for the video, prints the conversation as the seller saw it and where the video
is stored, and stops what it started.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from .queues import live_workers
from .settings import ROOT

__all__ = ["run_demo"]

CAPTION = "Handmade ceramic mug, 350 ml, matte white glaze"


def run_demo(settings) -> int:
    if not settings.sandbox_active:
        print("demo: runs against the sandbox only; unset the tokens and keys (or set NEUROCARDS_SANDBOX__ENABLED=on)")
        return 2
    from .db import init_database
    from .schema import migrate

    init_database(settings.database_url)
    migrate()
    started: list[subprocess.Popen] = []
    try:
        _ensure_stack(settings, started)
        return _play(settings)
    finally:
        for process in reversed(started):  # the bot and the worker before the Redis they need to stop
            _stop(process)


def _ensure_stack(settings, started: list) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    if not _pings(client):
        _start("redis", [_neurocards(), "redis"], started, settings.var_dir)
        _wait(lambda: _pings(client), "Redis")
    if not _listening(settings.sandbox.host, settings.sandbox.telegram_port):
        _start("sandbox", [_neurocards(), "sandbox"], started, settings.var_dir)
        _wait(lambda: _listening(settings.sandbox.host, settings.sandbox.telegram_port), "the sandbox")
    within_s = settings.worker.heartbeat_timeout_s
    if not _worker_alive(client, within_s):
        _start("worker", [_neurocards(), "worker"], started, settings.var_dir)
        _start("media", [_neurocards(), "worker", "--media"], started, settings.var_dir)
        _wait(lambda: _worker_alive(client, within_s), "a worker", timeout=60)
    if not any(client.scan_iter("neurocards:polling:*")):
        _start("bot", [sys.executable, str(ROOT / "bot.py")], started, settings.var_dir)
        _wait(lambda: any(client.scan_iter("neurocards:polling:*")), "the bot", timeout=60)


def _play(settings) -> int:
    from .jobs import get_job
    from .models import Job
    from .sandbox.telegram_client import TelegramSandbox

    seller = random.randint(10**8, 10**9)
    timeout = settings.sandbox.generation_s + settings.kie.poll_max_s * 2 + 120
    with TelegramSandbox(settings.sandbox_url("telegram")) as tg:
        tg.send_command(seller, "start", language_code="en", first_name="Demo")
        tg.wait_for(lambda t: _bot_said(t), chat_id=seller)
        tg.send_photo(seller, caption=CAPTION, language_code="en")
        if settings.styles.ask_before_start and settings.styles.catalogue:
            style = settings.styles.catalogue[0]
            picker = tg.wait_for(lambda t: next((e for e in _bot_said(t) if _has_style_buttons(e)), None),
                                 chat_id=seller)
            print(f"demo: the bot offers looks; the seller taps {style.label_en!r}", flush=True)
            tg.press(seller, text=style.label_en, message_id=picker["message_id"])
        print(f"demo: a seller sent a photo; waiting for the video (up to {timeout:.0f} s)…", flush=True)
        try:
            tg.wait_for(lambda t: any(e.get("video") for e in _bot_said(t)), timeout=timeout, chat_id=seller)
        except TimeoutError:
            print("demo: no video arrived in time; see the worker's log")
            return 1
        _buy_a_pack(settings, tg, seller)
        time.sleep(settings.telegram.status_edit_interval_s + 1)  # let the status line settle on "done"
        transcript = tg.transcript(seller)
    print()
    for line in conversation(transcript):
        print(line)
    job = Job.select().where(Job.user == seller).order_by(Job.created_at.desc()).first()
    job = get_job(job.id)
    print()
    finished = Path(job.finished_path or job.video_path)
    print(f"video stored at {finished} ({finished.stat().st_size} bytes, finished for {job.preset or 'its format'} "
          f"from KIE's {job.video_bytes}-byte clip); job {job.id} {job.status}")
    return 0 if job.status == "done" else 1


def _has_style_buttons(event: dict) -> bool:
    rows = (event.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(button.get("callback_data", "").startswith("style:") for row in rows for button in row)


def _buy_a_pack(settings, tg, seller: int) -> None:
    """The seller buys the first pack with Telegram Stars: /buy, a pack, the invoice paid."""
    pack = settings.credits.packs[0]
    tg.send_command(seller, "buy", language_code="en")
    tg.wait_for(lambda t: any(b.get("callback_data") == f"buy:{pack.credits}:{pack.stars}" for e in _bot_said(t)
                              for row in (e.get("reply_markup") or {}).get("inline_keyboard", []) for b in row),
                chat_id=seller)
    tg.press(seller, callback_data=f"buy:{pack.credits}:{pack.stars}")
    invoice = tg.wait_for(lambda t: [e for e in _bot_said(t) if e.get("invoice")], chat_id=seller)[-1]
    print(f"demo: the seller pays the invoice for {pack.credits} credits (⭐{pack.stars})…", flush=True)
    tg.pay(seller, invoice["message_id"])
    tg.wait_for(lambda t: any((e.get("text") or "").startswith("✅ Payment received") for e in _bot_said(t)),
                chat_id=seller)


def conversation(transcript: dict) -> list[str]:
    """The chat as the seller saw it: each message in its final state, buttons shown."""
    lines = []
    final = transcript["messages"]
    for event in transcript["events"]:
        if event["type"] == "successful_payment":
            lines.append(f"seller > [paid ⭐{event.get('total_amount', '?')}]")
        elif event["type"] == "user_message":
            what = event.get("text") or f"[{event.get('kind')}] {event.get('caption') or ''}".strip()
            lines.append(f"seller > {what}")
        elif event["type"] == "bot_message":
            state = final.get(str(event["message_id"]), event)
            if state.get("deleted"):
                continue
            body = state.get("text") or state.get("caption") or ""
            if event.get("invoice"):
                body = f"[invoice: {event['invoice'].get('title', '')} — ⭐{event['invoice'].get('total_amount')}]"
            if event.get("video"):
                body = f"[video, {event['video']['file_size']} bytes] {body}"
            lines.append("bot    > " + body.replace("\n", "\n         "))
            buttons = [b["text"] for row in (state.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
            if buttons:
                lines.append("         " + "  ".join(f"[{label}]" for label in buttons))
    return lines


def _bot_said(transcript: dict) -> list[dict]:
    return [e for e in transcript["events"] if e["type"] == "bot_message"]


def _neurocards() -> str:
    return str(Path(sys.executable).parent / "neurocards")


def _start(name: str, argv: list[str], started: list, var_dir: Path) -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    print(f"demo: starting {name} (log: {var_dir / f'demo-{name}.log'})", flush=True)
    log = open(var_dir / f"demo-{name}.log", "ab")
    started.append(subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))


def _stop(process: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the process group, SIGKILL it if it has not stopped within ``grace_s``."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: {what} did not come up in {timeout:.0f} s")
        time.sleep(0.2)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _worker_alive(client, within_s: float) -> bool:
    try:
        return live_workers(client, within_s) > 0
    except redis.RedisError:
        return False
