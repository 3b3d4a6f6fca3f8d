"""An exact rate limiter shared through Redis: one Lua script, Redis's clock.

Two kinds of limit, both kept exactly (no whole-second buckets):

- a **sliding window** (a log of the last ``count`` grants): at most ``count``
  grants in any ``period_s``; this is how KIE counts creates (20 in any 10 s),
  so a token bucket with a burst would exceed it;
- a **rate** (GCRA, a token bucket kept as one timestamp): one grant every
  ``period_s`` with a burst of ``count``.

On either, ``reserve`` makes a caller of lower priority leave that many grants
to everyone else: it is refused while fewer than ``reserve + 1`` are free.

One call checks several limits and takes from all of them or from none (a send
to a chat takes the chat's slot and the bot's, or neither), and answers how
long until it could: the caller waits or reschedules exactly that long.  Each
limit also honours a pause (:meth:`Limiter.pause`): a 429 that still comes
stops that budget for everyone for its ``retry_after``.  Time is Redis's
``TIME``, so every process and host agrees on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math

__all__ = ["Limit", "Slot", "Limiter"]

#: Where budgets live in Redis.
PREFIX = "neurocards:budget:"

# KEYS: per limit, its state key then its pause key.  ARGV[1]: "1" to look
# without taking; then per limit: kind ("w" window | "r" rate), count, period
# (ms), reserve.  Returns {wait_ms, index of the limit that refused (0: none),
# Redis's time in ms}, numbers as strings.
TAKE_SCRIPT = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = #KEYS / 2
local wait, which = 0, 0
local tats = {}
for i = 1, n do
  local a = 1 + (i - 1) * 4
  local kind, count, period, reserve = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local key = KEYS[2 * i - 1]
  local w = redis.call('PTTL', KEYS[2 * i])
  if w < 0 then w = 0 end
  if kind == 'w' then
    if redis.call('LLEN', key) >= count - reserve then
      local free_at = tonumber(redis.call('LINDEX', key, count - 1 - reserve)) + period
      if free_at - now > w then w = free_at - now end
    end
  else
    local tat = tonumber(redis.call('GET', key) or '0')
    if tat < now then tat = now end
    tats[i] = tat
    local allow_at = tat - period * (count - 1 - reserve)
    if allow_at - now > w then w = allow_at - now end
  end
  if w > wait then wait, which = w, i end
end
local stamp = string.format('%.3f', now)
if wait > 0 or ARGV[1] == '1' then return {string.format('%.3f', wait), which, stamp} end
for i = 1, n do
  local a = 1 + (i - 1) * 4
  local kind, count, period = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local key = KEYS[2 * i - 1]
  if kind == 'w' then
    redis.call('LPUSH', key, stamp)
    redis.call('LTRIM', key, 0, count - 1)
    redis.call('PEXPIRE', key, math.ceil(period) + 1000)
  else
    local tat = tats[i] + period
    redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
  end
end
return {'0', 0, stamp}
"""


@dataclasses.dataclass(frozen=True)
class Limit:
    """One budget: ``count`` grants per ``period_s`` (sliding) or one per ``period_s``
    with a burst of ``count`` (rate); :meth:`Limiter.window` and :meth:`Limiter.rate` make them."""

    name: str
    sliding: bool
    count: int
    period_s: float
    reserve: int = 0
    limiter: Limiter | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.reserve < self.count:
            raise ValueError(f"budget {self.name}: a reserve of {self.reserve} leaves nothing of {self.count}")

    @property
    def key(self) -> str:
        return PREFIX + self.name

    @property
    def pause_key(self) -> str:
        return PREFIX + self.name + ":pause"

    def args(self) -> list:
        return ["w" if self.sliding else "r", self.count, f"{self.period_s * 1000:.3f}", self.reserve]


@dataclasses.dataclass(frozen=True)
class Slot:
    """What a take answered: granted (truthy), or how long until it could be and
    which budget said no; ``at_s`` is Redis's clock when it was decided."""

    wait_s: float = 0.0
    refused_by: str = ""
    at_s: float = 0.0

    def __bool__(self) -> bool:
        return not self.refused_by

    @property
    def granted(self) -> bool:
        return bool(self)


GRANTED = Slot()


class Limiter:
    """Takes from :class:`Limit` s in one Redis (synchronous client; coroutines get
    an asyncio client of their own loop through :meth:`take_async`)."""

    def __init__(self, redis, *, async_redis_factory=None) -> None:
        self.redis = redis
        self._script = redis.register_script(TAKE_SCRIPT)
        self._async_factory = async_redis_factory
        self._async: dict = {}  # loop -> (client, script)

    def window(self, name: str, count: int, window_s: float, *, reserve: int = 0) -> Limit:
        """At most ``count`` grants in any ``window_s`` seconds; ``reserve`` of them left to others."""
        return Limit(name, True, count, window_s, reserve, limiter=self)

    def rate(self, name: str, per_s: float, *, burst: int = 1, reserve: int = 0) -> Limit:
        """One grant every ``1 / per_s`` s, ``burst`` at once; ``reserve`` tokens left to others."""
        return Limit(name, False, burst, 1.0 / per_s, reserve, limiter=self)

    # -- taking ---------------------------------------------------------------

    def take(self, limits, *, peek: bool = False) -> Slot:
        """Take one grant from every limit, or none; ``peek`` only looks."""
        limits = [limit for limit in limits if limit is not None]
        if not limits:
            return GRANTED
        keys, args = _script_args(limits, peek)
        return _slot(limits, self._script(keys=keys, args=args))

    async def take_async(self, limits, *, peek: bool = False) -> Slot:
        """:meth:`take` on this loop's asyncio client: never blocks the loop."""
        limits = [limit for limit in limits if limit is not None]
        if not limits:
            return GRANTED
        _, script = self._async_client()
        keys, args = _script_args(limits, peek)
        return _slot(limits, await script(keys=keys, args=args))

    async def warm_up_async(self, connections: int = 1) -> None:
        """Before the first take on this loop needs them: the script loaded in
        Redis and ``connections`` connections of this loop's client open (a
        first take otherwise pays for a connection and a reload of the script)."""
        client, _ = self._async_client()
        await client.script_load(TAKE_SCRIPT)
        await asyncio.gather(*(client.ping() for _ in range(connections)))

    # -- pauses ---------------------------------------------------------------

    def pause(self, limit: Limit, seconds: float) -> None:
        """Nobody takes from ``limit`` for ``seconds`` (a longer pause already set stays)."""
        ms = max(1, math.ceil(seconds * 1000))
        if (self.redis.pttl(limit.pause_key) or 0) < ms:
            self.redis.set(limit.pause_key, 1, px=ms)

    async def pause_async(self, limit: Limit, seconds: float) -> None:
        client, _ = self._async_client()
        ms = max(1, math.ceil(seconds * 1000))
        if (await client.pttl(limit.pause_key) or 0) < ms:
            await client.set(limit.pause_key, 1, px=ms)

    def paused_for(self, limit: Limit) -> float:
        """Seconds left of ``limit``'s pause (0 when it is not paused)."""
        return max(0, self.redis.pttl(limit.pause_key) or 0) / 1000

    def async_client(self):
        """This loop's asyncio Redis client."""
        return self._async_client()[0]

    def _async_client(self):
        loop = asyncio.get_running_loop()
        pair = self._async.get(loop)
        if pair is None:
            client = self._async_factory()
            pair = self._async[loop] = (client, client.register_script(TAKE_SCRIPT))
        return pair


def _script_args(limits, peek: bool) -> tuple[list[str], list]:
    keys, args = [], ["1" if peek else "0"]
    for limit in limits:
        keys += [limit.key, limit.pause_key]
        args += limit.args()
    return keys, args


def _slot(limits, answer) -> Slot:
    wait_ms, which, at_s = float(answer[0]), int(answer[1]), float(answer[2]) / 1000
    if which == 0:
        return Slot(at_s=at_s)
    return Slot(wait_ms / 1000, limits[which - 1].name, at_s)
