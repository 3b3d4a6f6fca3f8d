"""One healthy database connection per worker thread, across database restarts."""

from __future__ import annotations

import logging

import dramatiq
import peewee

from ..db import forget_connection

__all__ = ["DatabaseConnections"]

logger = logging.getLogger(__name__)


class DatabaseConnections(dramatiq.Middleware):
    """Peewee keeps one connection per thread and never notices that the server
    closed it: after a PostgreSQL restart, every worker thread would go on
    failing with "connection already closed".  When a message fails with a
    database error, this thread's connection is dropped, so the next message
    (or this one's retry) connects afresh.
    """

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if isinstance(exception, (peewee.OperationalError, peewee.InterfaceError)):
            logger.info("database error in %s; this thread reconnects on its next query", message.actor_name)
            forget_connection()

    after_skip_message = after_process_message
