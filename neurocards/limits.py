"""The real services' limits, shared by every worker through Redis (Dramatiq's
rate limiters): KIE creates <= 20 per 10 s and polls <= 10/s per key
(API_FACTS §1.8), Telegram ~30 sends/s overall and ~1/s per chat (§3.2)."""

from __future__ import annotations

import functools

from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend

from .settings import get_settings

__all__ = ["kie_create", "kie_poll", "telegram_global", "telegram_chat", "status_edit"]


@functools.cache
def backend() -> RedisBackend:
    return RedisBackend(url=get_settings().redis_url)


@functools.cache
def kie_create() -> WindowRateLimiter:
    return WindowRateLimiter(backend(), "kie-create", limit=20, window=10)


@functools.cache
def kie_poll() -> WindowRateLimiter:
    return WindowRateLimiter(backend(), "kie-poll", limit=10, window=1)


@functools.cache
def telegram_global() -> WindowRateLimiter:
    return WindowRateLimiter(backend(), "tg-send", limit=30, window=1)


def telegram_chat(chat_id: int) -> WindowRateLimiter:
    limit = get_settings().telegram.chat_messages_per_s
    return WindowRateLimiter(backend(), f"tg-chat:{chat_id}", limit=limit, window=1)


def status_edit(chat_id: int) -> WindowRateLimiter:
    """At most one status-message edit per chat every ``status_edit_interval_s``."""
    window = max(1, round(get_settings().telegram.status_edit_interval_s))
    return WindowRateLimiter(backend(), f"tg-status:{chat_id}", limit=1, window=window)


def try_acquire(*limiters: WindowRateLimiter) -> bool:
    """Take one slot from each limiter in turn; False at the first that refuses."""
    for limiter in limiters:
        with limiter.acquire(raise_on_failure=False) as acquired:
            if not acquired:
                return False
    return True
