"""KIE's balance, a model's failures, and the breaker they drive (issue 22).

The watchdog reads the account's balance every ``kie.balance_period_s``
(``GET /api/v1/chat/credit``) and keeps it in Redis for every process.  A tier
whose model's task costs more than the balance (less ``kie.balance_reserve_credits``)
is **closed before charging**: the bot refuses to start a job in it, with a plain
reason and another tier that is open, instead of taking a credit that KIE's 402
would only give back.  It opens again by itself at the first read that shows
the balance back.  An unknown balance (never read, or older than three periods)
closes nothing: the breaker never stands between sellers and a KIE that works.

A model whose recent tasks fail at KIE too often (the watchdog counts them:
``kie.breaker_failure_rate`` of at least ``kie.breaker_min_jobs``) is tripped
for ``kie.breaker_cooldown_s``; then its tier opens, and the jobs sent after
the trip are the probe: they count alone, and fail as often, it trips again.

A job paid before its tier closed waits at its KIE create (``submit_generation``)
for the tier to open again, up to ``kie.breaker_hold_s`` from when it reached
the create; past that it fails with its refund and an apology
(``kie_paused``) rather than meeting KIE's 402.

    neurocards:kie:balance           {"credits": float, "read_at": unix seconds}
    neurocards:kie:tripped:<model>   unix seconds of the trip, expiring with the cooldown
    neurocards:kie:probe:<model>     unix seconds of the last trip's end: jobs before it don't count
"""

from __future__ import annotations

import json
import time

__all__ = ["KEY", "record", "read", "closed", "closed_reason", "trip", "tripped", "counting_since", "TierClosed",
           "check"]

KEY = "neurocards:kie:balance"
TRIPPED = "neurocards:kie:tripped:{model}"
PROBE = "neurocards:kie:probe:{model}"
#: A balance read this many periods ago is too old to close anything.
STALE_PERIODS = 3


class TierClosed(Exception):
    """The tier's model can't be paid at KIE now; ``open_tier``: one that can, if any."""

    def __init__(self, tier: str, open_tier: str | None, reason: str = "balance") -> None:
        super().__init__(f"tier {tier} closed ({reason})")
        self.tier = tier
        self.open_tier = open_tier
        self.reason = reason  # "balance": KIE's account can't pay it; "failing": its tasks keep failing


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


def trip(redis, model: str, cooldown_s: float, now: float | None = None) -> None:
    """Close ``model``'s tier for ``cooldown_s``; the jobs after it are the probe."""
    now = now if now is not None else time.time()
    redis.set(TRIPPED.format(model=model), now, ex=max(1, round(cooldown_s)))
    redis.set(PROBE.format(model=model), now + cooldown_s)


def tripped(redis, model: str) -> bool:
    return bool(redis.exists(TRIPPED.format(model=model)))


def counting_since(redis, model: str) -> float:
    """Unix seconds from which ``model``'s failures count (0: all of them)."""
    raw = redis.get(PROBE.format(model=model))
    return float(raw) if raw is not None else 0.0


def _reason(balance: float | None, redis, settings, model: str) -> str | None:
    if tripped(redis, model):
        return "failing"
    return "balance" if closed(balance, settings, model) else None


def closed_reason(redis, settings, model: str) -> str | None:
    """Why ``model``'s tier is closed now ("balance" or "failing"); None when it is open."""
    return _reason(read(redis, settings), redis, settings, model)


def check(redis, settings, tier, tiers) -> None:
    """Raise :class:`TierClosed` when ``tier`` can't be made at KIE now (naming
    an open one of ``tiers``)."""
    balance = read(redis, settings)
    reason = _reason(balance, redis, settings, tier.model)
    if reason is None:
        return
    open_tier = next((other.name for other in tiers if _reason(balance, redis, settings, other.model) is None), None)
    raise TierClosed(tier.name, open_tier, reason)
