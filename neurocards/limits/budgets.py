"""The real services' limits as budgets shared by every process and host through
Redis (DESIGN §14), kept exactly by :mod:`neurocards.limits.limiter`:

- KIE, per API key (API_FACTS §1.8): creates ``kie.create_limit`` in any
  ``kie.create_window_s`` (20 / 10 s, KIE's own sliding window) and polls
  ``kie.poll_per_s`` (10 / s), each window stretched by ``kie.rate_margin_s``
  so that a request's trip to KIE never lands it inside KIE's window;
- Telegram, per bot token (§3.2): ``telegram.messages_per_s`` (~30 / s) over all
  chats and ``telegram.chat_messages_per_s`` (~1 / s) per chat — the bot's
  replies and the workers' edits and sends alike — plus at most one status
  edit per chat every ``telegram.status_edit_interval_s``.  Bulk messages
  (broadcasts, :meth:`Budgets.telegram_bulk`) take the overall budget only when
  it leaves a share to sellers' own chats, so a seller never waits behind one.

A process with no slot waits (the bot) or reschedules its message (the
actors) for exactly the wait :func:`try_acquire` answers; a 429 that still
comes pauses that budget for everyone (:meth:`Budgets.pause`,
:meth:`Budgets.telegram_rate_limited`).  One :class:`Budgets` per process,
built by its context.
"""

from __future__ import annotations

import time

from .limiter import PREFIX, Limit, Limiter, Slot

__all__ = ["Budgets", "try_acquire", "Slot", "Limit"]

#: Telegram tolerates short bursts in a chat ("then 429"); two at once, then the rate.
CHAT_BURST = 2
#: Messages over all chats that may go at once before the overall rate applies;
#: well under the ~30 Telegram lets through, which absorbs the trip's jitter.
GLOBAL_BURST = 10
#: Telegram's "about 30 a second" also read strictly: at most ``messages_per_s``
#: in any second (a flood control counting a plain window never sees more),
#: stretched by this much so that the trip's jitter does not land two seconds'
#: messages in one of Telegram's.
GLOBAL_WINDOW_MARGIN_S = 0.05
#: Of that burst, what bulk messages leave to sellers' own chats.
BULK_RESERVE = 6
#: What a status edit leaves to the messages a seller waits for — replies, videos:
#: of a chat's burst, and of the bot's burst and second.  An edit shows progress; a
#: send is the product, and never queues behind a crowd's edits.
STATUS_CHAT_RESERVE = 1
STATUS_RESERVE = 4
#: A 429 from Telegram in this many different chats within a second is the
#: bot's overall limit, not one chat's: the overall budget is paused too.
CHATS_FOR_GLOBAL_PAUSE = 2
#: Connections of one event loop's budget client: more waiters queue for one.
ASYNC_CONNECTIONS = 32


class Budgets:
    """The limits every process takes from before calling a limited service."""

    def __init__(
        self,
        limiter: Limiter,
        *,
        kie_create_limit: int = 20,
        kie_create_window_s: float = 10.0,
        kie_poll_per_s: float = 10.0,
        kie_margin_s: float = 0.25,
        messages_per_s: float = 30.0,
        chat_messages_per_s: float = 1.0,
        status_edit_interval_s: float = 3.0,
        bulk_per_s: float = 10.0,
    ) -> None:
        self.limiter = limiter
        self.kie_create_limit = kie_create_limit
        self.kie_create_window_s = kie_create_window_s + kie_margin_s
        self.kie_poll_limit = round(kie_poll_per_s)
        self.kie_poll_window_s = 1.0 + kie_margin_s
        self.messages_per_s = messages_per_s
        self.chat_messages_per_s = chat_messages_per_s
        self.status_edit_interval_s = status_edit_interval_s
        self.bulk_per_s = bulk_per_s

    @classmethod
    def from_settings(cls, settings, redis) -> Budgets:
        """Budgets on ``redis`` (a synchronous client; coroutines get clients of their own)."""
        kie, telegram = settings.kie, settings.telegram
        return cls(
            Limiter(redis, async_redis_factory=lambda: waiting_async_client(settings.redis_url)),
            kie_create_limit=kie.create_limit,
            kie_create_window_s=kie.create_window_s,
            kie_poll_per_s=kie.poll_per_s,
            kie_margin_s=kie.rate_margin_s,
            messages_per_s=telegram.messages_per_s,
            chat_messages_per_s=telegram.chat_messages_per_s,
            status_edit_interval_s=telegram.status_edit_interval_s,
            bulk_per_s=telegram.broadcast_per_s,
        )

    # -- KIE, per API key (a key's fingerprint; "" for the only one) ------------

    def kie_create(self, key: str = "") -> Limit | None:
        if self.kie_create_limit <= 0:
            return None  # lifted (benchmarks)
        return self.limiter.window(_named("kie-create", key), self.kie_create_limit, self.kie_create_window_s)

    def kie_poll(self, key: str = "") -> Limit | None:
        if self.kie_poll_limit <= 0:
            return None
        return self.limiter.window(_named("kie-poll", key), self.kie_poll_limit, self.kie_poll_window_s)

    # -- Telegram -----------------------------------------------------------------

    def telegram_global(self, reserve: int = 0) -> Limit | None:
        if self.messages_per_s <= 0:
            return None
        return self.limiter.rate("tg-send", self.messages_per_s, burst=GLOBAL_BURST, reserve=reserve)

    def telegram_second(self, reserve: int = 0) -> Limit | None:
        """At most ``messages_per_s`` in any second, whatever the bucket's burst
        allows (never fewer than the burst: a slower budget keeps its burst)."""
        if self.messages_per_s <= 0:
            return None
        per_second = max(GLOBAL_BURST, int(self.messages_per_s))
        return self.limiter.window("tg-send-second", per_second, 1.0 + GLOBAL_WINDOW_MARGIN_S, reserve=reserve)

    def telegram_chat(self, chat_id: int | str | None, reserve: int = 0) -> Limit | None:
        """One chat's budget (None for a message in no chat: an inline message's edit)."""
        if chat_id is None:
            return None
        return self.limiter.rate(f"tg-chat:{chat_id}", self.chat_messages_per_s, burst=CHAT_BURST, reserve=reserve)

    def status_edit(self, chat_id: int) -> Limit | None:
        """At most one status-message edit per chat every ``status_edit_interval_s``."""
        if self.status_edit_interval_s <= 0:
            return None
        return self.limiter.rate(f"tg-status:{chat_id}", 1 / self.status_edit_interval_s)

    def telegram_send(self, chat_id: int) -> tuple[Limit | None, ...]:
        """What one message to ``chat_id`` takes: the chat's slot, then the bot's
        (its token bucket and its one-second window)."""
        return self.telegram_chat(chat_id), self.telegram_global(), self.telegram_second()

    def telegram_status(self, chat_id: int) -> tuple[Limit | None, ...]:
        """What one status-message edit in ``chat_id`` takes: its interval, and the
        chat's and the bot's slots only while they leave sends their reserve
        (:data:`STATUS_CHAT_RESERVE`, :data:`STATUS_RESERVE`)."""
        return (self.status_edit(chat_id), self.telegram_chat(chat_id, STATUS_CHAT_RESERVE),
                self.telegram_global(STATUS_RESERVE), self.telegram_second(STATUS_RESERVE))

    def telegram_bulk(self, chat_id: int) -> tuple[Limit | None, ...]:
        """What one bulk message (a broadcast) to ``chat_id`` takes: the chat's slot,
        the bulk pace (``telegram.broadcast_per_s``) and the bot's overall slot
        only while that leaves :data:`BULK_RESERVE` of its burst to sellers."""
        return (self.telegram_chat(chat_id), self.limiter.rate("tg-bulk", self.bulk_per_s),
                self.telegram_global(BULK_RESERVE), self.telegram_second())

    # -- 429s that came anyway ----------------------------------------------------

    def pause(self, limit: Limit | None, seconds: float) -> None:
        """Nobody takes from ``limit`` for ``seconds``: the service said so."""
        if limit is not None and seconds > 0:
            self.limiter.pause(limit, seconds)

    async def telegram_rate_limited(self, chat_id: int | str | None, retry_after_s: float) -> None:
        """Telegram answered 429 for a message to ``chat_id``: that chat waits
        ``retry_after_s`` for everyone; when several chats met a 429 within a
        second, the bot's overall budget waits too (it does not say which limit)."""
        limiter = self.limiter
        overall = self.telegram_global()
        if chat_id is None:
            if overall is not None:
                await limiter.pause_async(overall, retry_after_s)
            return
        await limiter.pause_async(self.telegram_chat(chat_id), retry_after_s)
        client = limiter.async_client()
        key = f"{PREFIX}tg-429-chats:{int(time.time())}"
        async with client.pipeline(transaction=True) as pipe:
            _, chats, _ = await pipe.sadd(key, str(chat_id)).scard(key).expire(key, 3).execute()
        if chats >= CHATS_FOR_GLOBAL_PAUSE and overall is not None:
            await limiter.pause_async(overall, retry_after_s)


def waiting_async_client(url: str):
    """An asyncio Redis client whose pool waits for a free connection rather than
    refusing the 101st (redis-py's default), retrying over a restart like
    :mod:`neurocards.redis_clients`' clients."""
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialWithJitterBackoff

    from ..redis_clients import BACKOFF_BASE_S, BACKOFF_CAP_S, RETRIES

    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=ASYNC_CONNECTIONS, timeout=None,
        retry=Retry(ExponentialWithJitterBackoff(base=BACKOFF_BASE_S, cap=BACKOFF_CAP_S), RETRIES))
    return redis.asyncio.Redis.from_pool(pool)



def _named(budget: str, key: str) -> str:
    return f"{budget}:{key}" if key else budget


def try_acquire(*limits: Limit | None) -> Slot:
    """Take one slot from every limit, or none: a granted (truthy) :class:`Slot`,
    or a refused one saying how long until it could be (``wait_s``)."""
    present = [limit for limit in limits if limit is not None]
    if not present:
        return Slot()
    return present[0].limiter.take(present)
