"""The real services' limits as budgets shared by every process through Redis
(Dramatiq's rate limiters): KIE creates <= 20 per 10 s and polls <= 10/s per
key (API_FACTS §1.8), Telegram ~30 sends/s overall and ~1/s per chat (§3.2).

One :class:`Budgets` per process, built by its context from the settings.
"""

from __future__ import annotations

from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend

__all__ = ["Budgets", "try_acquire"]


class Budgets:
    """The limiters every process takes from before calling a limited service."""

    def __init__(self, redis, *, chat_messages_per_s: int = 1, status_edit_interval_s: float = 3.0) -> None:
        self.backend = RedisBackend(client=redis)
        self.chat_messages_per_s = chat_messages_per_s
        self.status_edit_window_s = max(1, round(status_edit_interval_s))
        self._kie_create = WindowRateLimiter(self.backend, "kie-create", limit=20, window=10)
        self._kie_poll = WindowRateLimiter(self.backend, "kie-poll", limit=10, window=1)
        self._telegram_global = WindowRateLimiter(self.backend, "tg-send", limit=30, window=1)

    @classmethod
    def from_settings(cls, settings, redis) -> Budgets:
        """Budgets on ``redis`` (a synchronous client) with the configured chat limits."""
        return cls(
            redis,
            chat_messages_per_s=settings.telegram.chat_messages_per_s,
            status_edit_interval_s=settings.telegram.status_edit_interval_s,
        )

    def kie_create(self) -> WindowRateLimiter:
        return self._kie_create

    def kie_poll(self) -> WindowRateLimiter:
        return self._kie_poll

    def telegram_global(self) -> WindowRateLimiter:
        return self._telegram_global

    def telegram_chat(self, chat_id: int) -> WindowRateLimiter:
        return WindowRateLimiter(self.backend, f"tg-chat:{chat_id}", limit=self.chat_messages_per_s, window=1)

    def status_edit(self, chat_id: int) -> WindowRateLimiter:
        """At most one status-message edit per chat every ``status_edit_interval_s``."""
        return WindowRateLimiter(self.backend, f"tg-status:{chat_id}", limit=1, window=self.status_edit_window_s)

    def telegram_send(self, chat_id: int) -> tuple[WindowRateLimiter, ...]:
        """What one message to ``chat_id`` takes: the chat's slot and the bot's."""
        return self.telegram_chat(chat_id), self.telegram_global()


def try_acquire(*limiters: WindowRateLimiter) -> bool:
    """Take one slot from each limiter in turn; False at the first that refuses."""
    for limiter in limiters:
        with limiter.acquire(raise_on_failure=False) as acquired:
            if not acquired:
                return False
    return True
