"""Telegram's flood control as token buckets: a short burst per chat, then about one message a
second, and about thirty a second across all chats (Bot FAQ, "My bot is hitting limits")."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

__all__ = ["Limits", "FloodControl"]


@dataclasses.dataclass
class Limits:
    """Telegram's limits as the stand-in enforces them; each can be switched at run time."""

    flood: bool = True
    per_chat_burst: int = 3
    per_chat_rate: float = 1.0  # messages a second, per chat
    global_burst: int = 30
    global_rate: float = 30.0  # messages a second, per bot
    upload_limit_mb: float = 50.0
    download_limit_mb: float = 20.0
    callback_timeout_s: float = 15.0  # after this, answerCallbackQuery says "query is too old"
    pre_checkout_timeout_s: float = 10.0  # the bot's time to answer a pre_checkout_query; then the payment fails

    def update(self, values: dict[str, Any]) -> None:
        """Change some limits; a ValueError (and no change) when one is unknown or out of range."""
        unknown = set(values) - {field.name for field in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown limits: {', '.join(sorted(unknown))}")
        typed = {name: type(getattr(self, name))(value) for name, value in values.items()}
        changed = dataclasses.replace(self, **typed)
        if min(changed.per_chat_rate, changed.global_rate) <= 0:
            raise ValueError("rates must be > 0")
        if min(changed.per_chat_burst, changed.global_burst) < 1:
            raise ValueError("bursts must be >= 1")
        self.__dict__.update(changed.__dict__)

    @property
    def upload_limit_bytes(self) -> int:
        return int(self.upload_limit_mb * 1024 * 1024)

    @property
    def download_limit_bytes(self) -> int:
        return int(self.download_limit_mb * 1024 * 1024)


class _Bucket:
    def __init__(self, capacity: int, now: float) -> None:
        self.tokens = float(capacity)
        self.stamp = now

    def refill(self, capacity: int, rate: float, now: float) -> None:
        self.tokens = min(float(capacity), self.tokens + (now - self.stamp) * rate)
        self.stamp = now

    def wait_s(self, rate: float) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate


class FloodControl:
    """One bucket per (bot, chat) and one per bot; a message takes a token from both."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._chats: dict[tuple[str, str], _Bucket] = {}
        self._bots: dict[str, _Bucket] = {}

    def take(self, bot: str, chat: str) -> int | None:
        """None when the message may go now, else Telegram's ``retry_after`` (whole seconds >= 1)."""
        if not self.limits.flood:
            return None
        lim, now = self.limits, time.monotonic()
        per_chat = self._chats.setdefault((bot, chat), _Bucket(lim.per_chat_burst, now))
        per_bot = self._bots.setdefault(bot, _Bucket(lim.global_burst, now))
        per_chat.refill(lim.per_chat_burst, lim.per_chat_rate, now)
        per_bot.refill(lim.global_burst, lim.global_rate, now)
        wait_s = max(per_chat.wait_s(lim.per_chat_rate), per_bot.wait_s(lim.global_rate))
        if wait_s > 0:
            return max(1, math.ceil(wait_s))
        per_chat.tokens -= 1
        per_bot.tokens -= 1
        return None

    def clear(self) -> None:
        self._chats.clear()
        self._bots.clear()
