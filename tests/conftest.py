"""Shared fixtures: real Redis, real PostgreSQL and SQLite, settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from neurocards.db import close_database, init_database
from neurocards.schema import migrate
from neurocards.settings import ROOT
from tests.services import PostgresServer, RedisServer


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server):
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


def _database_url(kind: str, request, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'neurocards.db'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """A fresh, migrated database on each engine."""
    url = _database_url(request.param, request, tmp_path)
    init_database(url)
    migrate()
    yield url
    close_database()


@pytest.fixture
def sqlite_url(request, tmp_path):
    """A fresh, migrated SQLite database (for tests where the engine does not matter)."""
    url = _database_url("sqlite", request, tmp_path)
    init_database(url)
    migrate()
    yield url
    close_database()


@pytest.fixture
def settings_env(monkeypatch, tmp_path):
    """Point the settings at a test's own folder; returns a setter for more keys."""
    monkeypatch.setenv("NEUROCARDS_SETTINGS", str(ROOT / "settings.toml"))
    monkeypatch.setenv("NEUROCARDS_STORAGE__DIR", str(tmp_path / "storage"))

    def set_(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"NEUROCARDS_{key.upper()}", str(value))

    yield set_


def run_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the ``neurocards`` console script as an operator would."""
    full_env = {**os.environ, **(env or {})}
    exe = Path(sys.executable).parent / "neurocards"
    return subprocess.run([str(exe), *args], env=full_env, capture_output=True, text=True, timeout=timeout)


#: Fixtures that start real worker, bot or watchdog processes.
PROCESS_FIXTURES = frozenset({"stack", "bot", "outage"})
#: Words of a test module that starts processes of its own (the CLI, a stack, a server it restarts).
PROCESS_WORDS = ("subprocess", "run_cli", "Stack(", "running_stack", "outage_stack", "start_worker", "own_redis",
                 "own_postgres")


def pytest_collection_modifyitems(config, items):
    """Mark every test that starts real processes ``processes``: ``make test-fast``
    runs the others (pure Python, in-process stand-ins, one database or Redis)."""
    spawning: dict[Path, bool] = {}
    for item in items:
        if item.path not in spawning:
            spawning[item.path] = any(word in item.path.read_text() for word in PROCESS_WORDS)
        if spawning[item.path] or PROCESS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.processes)
