"""The database connection: SQLite (default, WAL) or PostgreSQL, chosen by URL.

Models bind to :data:`database`, a proxy initialised once per process by
:func:`init_database`.  SQLite opens every transaction with ``BEGIN IMMEDIATE``
so that concurrent writers queue on the lock instead of failing half-way.

PostgreSQL connections survive a server restart: peewee keeps one connection
per thread and never notices that the server closed it, so each thread of a
process (eight worker threads, the bot's thread pool) would fail once on its
dead connection — enough failures to spend a message's retries.  With peewee's
:class:`~playhouse.shortcuts.ReconnectMixin`, a statement that meets a closed
connection outside a transaction (a ``BEGIN`` included) reconnects and runs
once more; inside a transaction the error goes up, and the transaction's retry
reconnects at its ``BEGIN``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

from peewee import Database, DatabaseProxy, InterfaceError, OperationalError, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse as parse_url
from playhouse.shortcuts import ReconnectMixin

__all__ = ["database", "init_database", "close_database", "forget_connection", "record_effect", "is_postgres",
           "redact_url", "ReconnectingPostgresqlDatabase", "RECORD_WITHIN_S"]

logger = logging.getLogger(__name__)

#: The database every model is bound to.
database = DatabaseProxy()

#: How long a SQLite writer waits for the lock by default (``database.busy_timeout_s``).
SQLITE_BUSY_TIMEOUT_S = 30.0

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
}


class ReconnectingPostgresqlDatabase(ReconnectMixin, PostgresqlDatabase):
    """PostgreSQL that reconnects when the server closed the connection (a restart,
    a fail-over, an idle timeout), by psycopg2's messages for it."""

    reconnect_errors = (
        (OperationalError, "server closed the connection unexpectedly"),
        (OperationalError, "terminating connection"),  # "due to administrator command": a fast shutdown
        (OperationalError, "could not receive data from server"),
        (OperationalError, "ssl connection has been closed unexpectedly"),
        (OperationalError, "no connection to the server"),
        (InterfaceError, "connection already closed"),
    )


def connect(url: str, *, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Database:
    """Open (lazily) the database named by ``url``."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(
            path or ":memory:",
            pragmas={**SQLITE_PRAGMAS, "busy_timeout": int(busy_timeout_s * 1000)},
            timeout=busy_timeout_s,
            lock_type="IMMEDIATE",
        )
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return ReconnectingPostgresqlDatabase(**parse_url(url))


def init_database(url: str, *, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Database:
    """Bind the models to the database at ``url`` (replacing any earlier one)."""
    close_database()
    db = connect(url, busy_timeout_s=busy_timeout_s)
    database.initialize(db)
    logger.debug("database: %s", redact_url(url))
    return db


def close_database() -> None:
    db = database.obj
    if db is not None and not db.is_closed():
        db.close()


def forget_connection() -> None:
    """Drop this thread's connection, broken or not, so that its next query opens
    a new one (peewee never reconnects by itself)."""
    db = database.obj
    if db is None:
        return
    try:
        db.close()
    except Exception:  # a dead connection, or a transaction it can no longer end
        db.dispose()


#: How long :func:`record_effect` waits out a database outage by default.
RECORD_WITHIN_S = 30.0


def record_effect(write, *args, within_s: float = RECORD_WITHIN_S, **kwargs):
    """``write(*args, **kwargs)``: the record of an outside effect that has
    happened (a video in the seller's chat, Stars a seller paid), waiting out a
    database outage — reconnecting with backoff for up to ``within_s`` — rather
    than failing.  A failed record would have the effect repeated (the message's
    retry, or the watchdog, sends the video again) or lost (Telegram delivers a
    payment's update once)."""
    delay_s, deadline = 0.1, time.monotonic() + within_s
    while True:
        try:
            return write(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay_s > deadline:
                raise
            logger.warning("could not record %s (%s); trying again in %.1fs", write.__name__, exc, delay_s)
            forget_connection()
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, 2.0)


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def redact_url(url: str) -> str:
    """``url`` without its password, fit for logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
