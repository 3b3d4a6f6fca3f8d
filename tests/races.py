"""Calls started at the same moment on threads of their own, the way two bot
instances or two worker threads meet on one row."""

from __future__ import annotations

import threading

from neurocards.db import database


def at_once(targets, *, expected: tuple[type[BaseException], ...] = ()) -> list:
    """Each of ``targets`` (no-argument callables) on its own thread, released
    together by a barrier; their results, or the ``expected`` exceptions they
    raised, in the order they ended.  Each thread closes its database connection."""
    barrier, outcomes = threading.Barrier(len(targets)), []

    def run(target):
        barrier.wait()
        try:
            outcomes.append(target())
        except expected as exc:
            outcomes.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == len(targets), "a racing call neither returned nor raised what was expected"
    return outcomes
