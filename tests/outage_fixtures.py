"""A stack whose database a test may take away and bring back, the two ways it
goes away in production: PostgreSQL stopped by a service manager (fast
shutdown: every connection cut) and started again; SQLite made unwritable by
a writer holding its lock for longer than everyone's busy timeout."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from neurocards.context import Context
from neurocards.schema import migrate
from neurocards.settings import load_settings
from tests.services import PostgresServer
from tests.stack import Stack

__all__ = ["outage_stack"]


@contextlib.contextmanager
def outage_stack(engine: str, redis_server, tmp_path_factory, *, generation_s: float = 0.3, **settings: str):
    """``(stack, take_away, bring_back)``: a migrated stack, its Redis empty, a
    worker running, on ``engine`` ("sqlite" or "postgres": a server of its own,
    which ``take_away`` stops)."""
    server = PostgresServer() if engine == "postgres" else None
    if server is not None:
        url = server.create_database()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'neurocards.db'}"
    stack = Stack(redis_url=redis_server.url, database_url=url, generation_s=generation_s,
                  **{"DATABASE__BUSY_TIMEOUT_S": "0.2", **settings})
    lock: list[sqlite3.Connection] = []

    def take_away() -> None:
        if server is not None:
            stack.context.database.close()
            server.halt()
        else:
            writer = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
            writer.execute("BEGIN EXCLUSIVE")
            lock.append(writer)

    def bring_back() -> None:
        if server is not None:
            server.start()
        else:
            writer = lock.pop()
            writer.execute("ROLLBACK")
            writer.close()

    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.env.items():
            patch.setenv(key, value)
        stack.context = Context(load_settings())
        migrate()
        redis_server.client().flushall()
        stack.start_worker()
        try:
            yield stack, take_away, bring_back
        finally:
            stack.close()
            stack.context.close()
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()
