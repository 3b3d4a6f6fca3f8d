"""``neurocards health``: is everything the product needs up?  One line per check,
exit 0 when all pass, 1 otherwise.  Nothing secret is printed."""

from __future__ import annotations

import dataclasses

import httpx
import redis

from .logs import scrub
from .queues import live_workers

__all__ = ["Check", "run_checks"]

@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def run_checks(settings) -> list[Check]:
    checks = [_database(settings)]
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=3)
    checks.append(_redis(client))
    checks.append(_workers(client, settings))
    where = " (sandbox)" if settings.sandbox_active else ""
    checks.append(_reachable("telegram" + where, f"{settings.telegram_api_base}/bot{settings.telegram_token}/getMe", {}))
    bearer = {"Authorization": f"Bearer {settings.kie_api_key}"}
    checks.append(_reachable("kie" + where, f"{settings.kie_base_url}/api/v1/chat/credit", bearer))
    bearer = {"Authorization": f"Bearer {settings.openai_api_key}"}
    checks.append(_reachable("openai" + where, f"{settings.openai_base_url}/models", bearer))
    return checks


def _database(settings) -> Check:
    from .db import database, init_database, redact_url
    from .schema import pending_migrations

    try:
        init_database(settings.database_url)
        database.execute_sql("SELECT 1")
        pending = pending_migrations()
    except Exception as exc:
        return Check("database", False, scrub(f"{type(exc).__name__}: {exc}"))
    if pending:
        return Check("database", False, f"migrations pending: {', '.join(pending)} (run neurocards migrate)")
    return Check("database", True, redact_url(settings.database_url))


def _redis(client) -> Check:
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", False, scrub(f"{type(exc).__name__}: {exc}"))
    return Check("redis", True, "PONG")


def _workers(client, settings) -> Check:
    try:
        alive = live_workers(client, settings.worker.heartbeat_timeout_s)
    except redis.RedisError as exc:
        return Check("workers", False, scrub(f"{type(exc).__name__}: {exc}"))
    if not alive:
        return Check("workers", False, f"no worker heartbeat in the last {settings.worker.heartbeat_timeout_s:g} s")
    return Check("workers", True, f"{alive} worker process(es) alive")


def _reachable(name: str, url: str, headers: dict) -> Check:
    """The service answers over HTTP (any status but 401/403 and 5xx counts as up)."""
    try:
        response = httpx.get(url, headers=headers, timeout=5)
    except httpx.HTTPError as exc:
        return Check(name, False, scrub(f"unreachable: {type(exc).__name__}"))
    if response.status_code in (401, 403):
        return Check(name, False, f"credentials refused (HTTP {response.status_code})")
    if response.status_code >= 500:
        return Check(name, False, f"HTTP {response.status_code}")
    return Check(name, True, f"HTTP {response.status_code}")
