"""The Dramatiq broker: Redis, with the dead-worker sweep tuned so that the
messages a killed worker held come back in about a minute, not "eventually"."""

from __future__ import annotations

import os

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage, default_middleware

from .redis_clients import reconnecting_client

__all__ = ["build_broker", "pipeline_middleware"]


def pipeline_middleware(settings) -> list:
    """Dramatiq's defaults plus what the pipeline relies on (the worker's broker)."""
    from .logs import secrets_of
    from .metrics import prepare_worker_environment
    from .middleware import (
        DaemonAsyncIO,
        DatabaseConnections,
        DeadLetterRefunds,
        ExpectedFailures,
        ExposedPrometheus,
        OneStopSignal,
        RecordFailures,
        WorkerLogging,
    )

    prepare_worker_environment(settings)  # before prometheus_client is first imported
    # the port ``neurocards worker`` chose: metrics.worker_port, or metrics.media_port for --media
    host, port = os.environ["dramatiq_prom_host"], int(os.environ["dramatiq_prom_port"])
    return [
        *(middleware() for middleware in default_middleware),
        WorkerLogging(secrets=secrets_of(settings)),
        CurrentMessage(),
        DaemonAsyncIO(),
        OneStopSignal(),
        ExposedPrometheus(host=host, port=port),
        DatabaseConnections(),
        ExpectedFailures(),
        RecordFailures(),
        DeadLetterRefunds(),
    ]


def build_broker(
    redis_url: str, *, heartbeat_timeout_s: float = 30.0, maintenance_chance: int = 50_000, middleware=None
) -> RedisBroker:
    """A Redis broker for ``redis_url``; ``middleware`` as given (an empty list for
    a process that only sends, like the bot).  Installing it as Dramatiq's global
    broker is the worker's business, not this function's.

    ``heartbeat_timeout_s`` is how long a worker may go silent before its unacked
    messages are given to others (Dramatiq's default is 60 s; ours, from
    ``worker.heartbeat_timeout_s``, is 30 s).  ``maintenance_chance`` is how many
    broker commands in a million also sweep dead workers' messages: Dramatiq's
    default (1,000) can leave a quiet queue unswept for many minutes.

    Its client survives a Redis restart (:mod:`neurocards.redis_clients`):
    Dramatiq restarts a consumer that lost its connection, but an enqueue — the
    bot starting a job — would fail once on each stale pooled connection.
    """
    return RedisBroker(
        client=reconnecting_client(redis_url),
        heartbeat_timeout=int(heartbeat_timeout_s * 1000),
        maintenance_chance=maintenance_chance,
        middleware=middleware,
    )
