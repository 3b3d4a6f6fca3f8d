"""KIE's balance and the breaker it drives (issue 22).

The watchdog reads the account's balance every ``kie.balance_period_s``
(``GET /api/v1/chat/credit``) and keeps it in Redis for every process.  A tier
whose model's task costs more than the balance (less ``kie.balance_reserve_credits``)
is **closed before charging**: the bot refuses to start a job in it, with a plain
reason and another tier that is open, instead of taking a credit that KIE's 402
would only give back.  It opens again by itself at the first read that shows
the balance back.  An unknown balance (never read, or older than three periods)
closes nothing: the breaker never stands between sellers and a KIE that works.

    neurocards:kie:balance   {"credits": float, "read_at": unix seconds}
"""

from __future__ import annotations

import json
import time

__all__ = ["KEY", "record", "read", "closed", "TierClosed", "check"]

KEY = "neurocards:kie:balance"
#: A balance read this many periods ago is too old to close anything.
STALE_PERIODS = 3


class TierClosed(Exception):
    """The tier's model can't be paid at KIE now; ``open_tier``: one that can, if any."""

    def __init__(self, tier: str, open_tier: str | None) -> None:
        super().__init__(f"tier {tier} closed: KIE's balance can't pay its task")
        self.tier = tier
        self.open_tier = open_tier


def record(redis, credits: float, now: float | None = None) -> None:
    redis.set(KEY, json.dumps({"credits": credits, "read_at": now if now is not None else time.time()}))


def read(redis, settings, now: float | None = None) -> float | None:
    """The balance last read, None when unknown or stale."""
    raw = redis.get(KEY)
    if raw is None:
        return None
    value = json.loads(raw)
    now = now if now is not None else time.time()
    if now - float(value["read_at"]) > STALE_PERIODS * settings.kie.balance_period_s:
        return None
    return float(value["credits"])


def closed(balance: float | None, settings, model: str) -> bool:
    """Whether a task of ``model`` can't be paid from ``balance``."""
    if balance is None:
        return False
    return balance < (settings.economics.kie_credits(model) or 0.0) + settings.kie.balance_reserve_credits


def check(redis, settings, tier, tiers) -> None:
    """Raise :class:`TierClosed` when ``tier`` can't be paid at KIE now (naming
    an open one of ``tiers``)."""
    balance = read(redis, settings)
    if not closed(balance, settings, tier.model):
        return
    open_tier = next((other.name for other in tiers if not closed(balance, settings, other.model)), None)
    raise TierClosed(tier.name, open_tier)
