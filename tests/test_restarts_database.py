"""Every thread of a process reconnects to PostgreSQL by itself after a restart
(the worker's eight threads, the bot's thread pool): its next statement opens a
new connection instead of failing on the dead one (``neurocards.db``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier


from neurocards.db import connect
from tests.watchdog_fixtures import own_postgres  # noqa: F401  (fixture)


def test_every_thread_reconnects_at_its_next_statement_after_a_postgres_restart(own_postgres):
    # Given eight threads (a worker's), each holding its own connection to PostgreSQL
    db = connect(own_postgres.create_database())
    threads = 8
    barrier = Barrier(threads)

    def query(statement: str) -> int:
        barrier.wait()  # every thread at once: each on its own connection
        with db.atomic():
            return db.execute_sql(statement).fetchone()[0]

    with ThreadPoolExecutor(threads) as pool:
        assert list(pool.map(query, ["SELECT 1"] * threads)) == [1] * threads

        # When the server restarts as a service manager does it (every connection cut)
        own_postgres.halt()
        own_postgres.start()

        # Then each thread's next transaction runs, on a new connection, without an error
        assert list(pool.map(query, ["SELECT 2"] * threads)) == [2] * threads
