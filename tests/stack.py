"""The whole product on loopback, for end-to-end tests and benchmarks.

A :class:`Stack` runs the three sandbox stand-ins in this process (each on its
own thread and event loop), points the settings at them, a real Redis and a
real database through ``NEUROCARDS_*`` variables, and starts real
``dramatiq actors`` worker processes (and, for bot tests, ``python bot.py``)
with those variables.  Durations are shrunk so nothing waits on wall-clock time
it doesn't need.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from neurocards.cli import dramatiq_argv
from neurocards.sandbox import kie, openai, telegram
from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.settings import ROOT, SANDBOX_API_KEY, SANDBOX_BOT_TOKEN
from tests.services import free_port, wait_until

#: Settings every test stack shares: fast polls, short back-offs, quick dead-worker sweeps.
FAST_SETTINGS = {
    "SANDBOX__ENABLED": "on",
    "KIE__POLL_FIRST_S": "0.2",
    "KIE__POLL_MAX_S": "0.5",
    "KIE__DEADLINE_S": "4",
    "PIPELINE__MIN_BACKOFF_S": "0.1",
    "PIPELINE__MAX_BACKOFF_S": "0.5",
    "PIPELINE__MAX_RETRIES": "3",
    "WORKER__HEARTBEAT_TIMEOUT_S": "3",
    "WORKER__MAINTENANCE_CHANCE": "1000000",
    "TELEGRAM__STATUS_EDIT_INTERVAL_S": "1",
    "OPENAI__TIMEOUT_S": "5",
    "CREDITS__WELCOME": "1",
    "TELEGRAM__CHAT_MESSAGES_PER_S": "5",
    "WORKER__SHUTDOWN_TIMEOUT_S": "2",
    "FORMATS__X264_PRESET": "ultrafast",  # finishing's CPU, shrunk like every duration (bench/finish.py: veryfast)
    # a photo with a caption starts at once, in the seller's last style, as before issue 21: the look
    # picked with one tap after the photo (the product's default) is tested in test_bot_styles
    "STYLES__ASK_BEFORE_START": "false",
}
CHAT_MESSAGES_PER_S = 5


class Stack:
    """Sandbox + settings + worker processes (+ the bot) for one database and one Redis."""

    def __init__(self, *, redis_url: str, database_url: str, generation_s: float = 0.3, **settings: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="neurocards-stack-"))
        # Telegram's flood limits, 5x looser per chat (the bot obeys the same setting below)
        self.telegram = ThreadedApp(lambda: telegram.create_app(
            tokens=(SANDBOX_BOT_TOKEN,), per_chat_burst=5, per_chat_rate=CHAT_MESSAGES_PER_S))
        self.kie = ThreadedApp(lambda: kie.create_app(api_keys=(SANDBOX_API_KEY,), generation_s=generation_s))
        self.openai = ThreadedApp(lambda: openai.create_app(api_keys=(SANDBOX_API_KEY,)))
        self.tg = TelegramSandbox(self.telegram.url)
        self.database_url = database_url
        self.env = {
            "NEUROCARDS_SETTINGS": str(ROOT / "settings.toml"),
            "NEUROCARDS_REDIS__URL": redis_url,
            "NEUROCARDS_DATABASE__URL": database_url,
            "NEUROCARDS_STORAGE__DIR": str(self.dir / "storage"),
            "NEUROCARDS_SANDBOX__TELEGRAM_PORT": str(self.telegram.port),
            "NEUROCARDS_SANDBOX__KIE_PORT": str(self.kie.port),
            "NEUROCARDS_SANDBOX__OPENAI_PORT": str(self.openai.port),
            "NEUROCARDS_TELEGRAM__WEB_PORT": str(free_port()),
            "NEUROCARDS_METRICS__WORKER_PORT": str(free_port()),
            "NEUROCARDS_METRICS__BOT_PORT": str(free_port()),
            "NEUROCARDS_METRICS__WATCHDOG_PORT": str(free_port()),
            # each stack its own Prometheus folder, whatever this process has set
            "dramatiq_prom_db": str(self.dir / "prometheus"),
            "PROMETHEUS_MULTIPROC_DIR": str(self.dir / "prometheus"),
            "dramatiq_prom_host": "127.0.0.1",
            **{f"NEUROCARDS_{key}": value for key, value in {**FAST_SETTINGS, **settings}.items()},
        }
        self.env["dramatiq_prom_port"] = self.env["NEUROCARDS_METRICS__WORKER_PORT"]
        (self.dir / "prometheus").mkdir()
        self.processes: dict[str, subprocess.Popen] = {}
        self.watchdog_ports: dict[str, int] = {}
        self._baseline: dict[str, int] = {}

    # -- processes ------------------------------------------------------------

    def start_worker(self, name: str = "worker", *, module: str = "actors", processes: int = 1, threads: int = 4,
                     queues: tuple[str, ...] = (), env: dict[str, str] | None = None):
        """``dramatiq <module>`` on ``queues`` (every queue when empty), with ``env`` of its own."""
        shutdown_timeout_s = float(self.env["NEUROCARDS_WORKER__SHUTDOWN_TIMEOUT_S"])
        return self._spawn(name, dramatiq_argv(module, processes, threads, shutdown_timeout_s=shutdown_timeout_s,
                                               queues=queues), env=env)

    def start_media_worker(self, port: int, name: str = "media"):
        """``neurocards worker --media``, as the Procfile runs it: the media queue, its
        metrics on ``port`` (``metrics.media_port``) from a folder it picks itself."""
        env = {"NEUROCARDS_METRICS__MEDIA_PORT": str(port), "dramatiq_prom_db": None,
               "PROMETHEUS_MULTIPROC_DIR": None, "dramatiq_prom_port": None}
        return self._spawn(name, [sys.executable, "-m", "neurocards.cli", "worker", "--media"], env=env)

    def start_bot(self, name: str = "bot"):
        return self._spawn(name, [sys.executable, str(ROOT / "bot.py")])

    def start_watchdog(self, name: str = "watchdog", **settings: str):
        """``neurocards watchdog``, as the Procfile runs it, with ``settings`` of its
        own; each one (each stands for a host) serves its metrics on its own
        port, :attr:`watchdog_ports`."""
        port = self.env["NEUROCARDS_METRICS__WATCHDOG_PORT"] if name == "watchdog" else str(free_port())
        self.watchdog_ports[name] = int(port)
        env = {"NEUROCARDS_METRICS__WATCHDOG_PORT": port, **{f"NEUROCARDS_{k}": v for k, v in settings.items()}}
        return self._spawn(name, [sys.executable, "-m", "neurocards.cli", "watchdog"], env=env)

    def signal_group(self, name: str, signum: int = signal.SIGTERM) -> subprocess.Popen:
        """Send ``signum`` to the process's whole group, as systemd stops a service;
        the process stays in :attr:`processes` (wait for it, then :meth:`forget`)."""
        process = self.processes[name]
        os.killpg(process.pid, signum)
        return process

    def forget(self, name: str) -> None:
        """Let go of a process that has exited (or SIGKILL what is left of its group)."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str | None] | None = None) -> subprocess.Popen:
        """Start ``argv`` with the stack's variables and ``env`` (None: unset)."""
        log = open(self.dir / f"{name}.log", "ab")
        merged = {**os.environ, **self.env, **(env or {})}
        process = subprocess.Popen(
            argv, cwd=ROOT, env={key: value for key, value in merged.items() if value is not None}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes[name] = process
        return process

    def kill(self, name: str = "worker") -> None:
        """SIGKILL the process and its children (a crash, not a shutdown)."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def log(self, name: str = "worker") -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        for app in (self.telegram, self.kie, self.openai):
            app.stop()
        self.tg.close()

    # -- the stand-ins' control APIs -------------------------------------------

    def reset_sandbox(self) -> None:
        """Fresh KIE and OpenAI stand-ins, no Telegram faults, call counts from now.
        (Telegram's chats stay: a previous test's handlers may still be replying.)"""
        for app in (self.kie, self.openai):
            httpx.post(f"{app.url}/_sandbox/reset").raise_for_status()
        httpx.delete(f"{self.telegram.url}/_sandbox/scenario").raise_for_status()
        self._baseline = self._counts("telegram")

    def fault(self, service: str, fault: str, **spec) -> None:
        app = {"telegram": self.telegram, "kie": self.kie, "openai": self.openai}[service]
        httpx.post(f"{app.url}/_sandbox/scenario", json={"fault": fault, **spec}).raise_for_status()

    def faults(self, service: str) -> list[dict]:
        """The faults set on ``service``, each with how often it ``fired``."""
        app = {"telegram": self.telegram, "kie": self.kie, "openai": self.openai}[service]
        return httpx.get(f"{app.url}/_sandbox/scenario").json()["faults"]

    def calls(self, service: str) -> dict[str, int]:
        """The calls ``service`` received since :meth:`reset_sandbox`."""
        counts = self._counts(service)
        if service == "telegram":
            counts = {name: n - self._baseline.get(name, 0) for name, n in counts.items()}
        return {name: n for name, n in counts.items() if n}

    def _counts(self, service: str) -> dict[str, int]:
        app = {"telegram": self.telegram, "kie": self.kie, "openai": self.openai}[service]
        return httpx.get(f"{app.url}/_sandbox/calls").json()


def wait_for_status(job_id, statuses: tuple[str, ...], timeout: float = 60.0):
    """The job once its status is one of ``statuses``."""
    from neurocards.jobs import get_job

    def reached():
        job = get_job(job_id)
        return job if job is not None and job.status in statuses else None

    return wait_until(reached, timeout=timeout, interval=0.05, what=f"job {job_id} to reach {statuses}")


def wait_for_final(job_id, timeout: float = 60.0):
    return wait_for_status(job_id, ("done", "failed"), timeout)


def drain(redis_url: str, timeout: float = 60.0) -> None:
    """Wait until no message is queued, delayed or being processed anywhere
    (Dramatiq's Redis lists and its per-worker sets of unacked messages)."""
    import redis

    client = redis.Redis.from_url(redis_url)

    def quiet() -> bool:
        busy = 0
        for key in client.scan_iter("dramatiq:*"):
            kind = client.type(key)
            if kind == b"list":
                busy += client.llen(key)
            elif kind == b"set" and b"__acks__" in key:
                busy += client.scard(key)
        return busy == 0

    try:
        wait_until(quiet, timeout=timeout, interval=0.1, what="the queues to drain")
    finally:
        client.close()
