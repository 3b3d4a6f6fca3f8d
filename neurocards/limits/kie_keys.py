"""KIE's key pool (``kie.api_keys``; ``kie.api_key`` alone is a pool of one).

Each key has its own budgets (KIE limits creates and polls per key), so creates
spread over the keys: :meth:`KieKeys.create_slot` takes the first key, from a
rotating start, that has a create slot.  A job remembers the key that created
its task by fingerprint (never the key itself) and polls with it.

A key that answers 401 or 402 (revoked, out of credits) is *parked*: a Redis
flag with a TTL (``kie.key_park_s``) that every process reads, and the other
keys carry on.  The last usable key is not parked (nothing would carry on; the
job fails as it would with one key, and the next job tries again).  Every such
answer is counted (``neurocards_kie_key_refusals_total{key,code}``, alerted on)
and logged.  A 429 pauses that key's budget for everyone.  What the caller
should do about either is :class:`KeyTrouble`: try again after ``wait_s``
(another key, or the same once its pause is over), spending no retry.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import random
from collections.abc import Callable

from ..clients.kie import KieApiError, KieClient
from ..errors import Kind, PipelineError
from .budgets import Budgets, Slot, try_acquire

__all__ = ["KieKeys", "KeyTrouble", "fingerprint", "PARKING_CODES"]

logger = logging.getLogger(__name__)

#: KIE codes that mean "this key cannot be used now": unauthorised, no credits.
PARKING_CODES = {401: "kie_access", 402: "kie_no_credits"}
#: KIE's 429 carries no Retry-After (§1.8): the key's budget pauses this long instead.
RATE_LIMITED_PAUSE_S = 2.0
#: How soon a call refused for its key is tried again with another one.
OTHER_KEY_WAIT_S = 0.05


def fingerprint(key: str) -> str:
    """What a job stores to name its key: 12 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class KeyTrouble(PipelineError):
    """A KIE call failed for its key, not for the job: try again after ``wait_s``
    (``parked``: the key was parked; its tasks need another key).  Transient, so
    one that escapes an actor is retried; counted under its error class."""

    def __init__(self, wait_s: float, *, parked: bool, error_class: str, detail: str) -> None:
        super().__init__(error_class, detail, kind=Kind.TRANSIENT)
        self.wait_s = wait_s
        self.parked = parked


class KieKeys:
    """One :class:`KieClient` and one pair of budgets per configured key."""

    def __init__(self, keys: list[str], make_client: Callable[[str], KieClient], *, budgets: Budgets, redis,
                 park_s: float = 600.0, refusals_counter=None) -> None:
        self.fingerprints = [fingerprint(key) for key in keys]
        self._clients = {fp: make_client(key) for fp, key in zip(self.fingerprints, keys)}
        self.budgets = budgets
        self.redis = redis
        self.park_s = park_s
        self._refusals = refusals_counter
        self._turns = {use: itertools.count(random.randrange(len(keys))) for use in ("create", "upload")}
        if refusals_counter is not None:
            for fp in self.fingerprints:  # every key's series exists (at 0) before its first refusal
                for code in PARKING_CODES:
                    refusals_counter.labels(fp, str(code))

    @classmethod
    def from_settings(cls, settings, budgets: Budgets, redis) -> KieKeys:
        from prometheus_client import Counter

        refusals = Counter("neurocards_kie_key_refusals_total",
                           "KIE answers 401/402 by key fingerprint and code (a key in a pool is parked on one).",
                           ["key", "code"], registry=None)
        return cls(
            settings.kie_api_keys,
            lambda key: KieClient(base_url=settings.kie_base_url, upload_url=settings.kie_upload_url, api_key=key,
                                  timeout_s=settings.kie.timeout_s),
            budgets=budgets, redis=redis, park_s=settings.kie.key_park_s, refusals_counter=refusals,
        )

    # -- choosing a key ------------------------------------------------------------

    def client(self, key: str) -> KieClient:
        """The client of the key with fingerprint ``key``; the first key for a job
        from before the pool ("") or whose key was since removed from the settings."""
        found = self._clients.get(key)
        if found is None:
            if key:
                logger.warning("KIE key %s is no longer configured; using key %s", key, self.fingerprints[0])
            return self._clients[self.fingerprints[0]]
        return found

    def known(self, key: str) -> str:
        """``key`` if it is configured, else the key :meth:`client` falls back to."""
        return key if key in self._clients else self.fingerprints[0]

    def usable(self, use: str = "create") -> list[str]:
        """The keys not parked, starting with the next in turn for ``use``."""
        start = next(self._turns[use]) % len(self.fingerprints)
        turn = self.fingerprints[start:] + self.fingerprints[:start]
        flags = self.redis.mget([_park_key(fp) for fp in turn])
        return [fp for fp, flag in zip(turn, flags) if flag is None]

    def create_slot(self) -> tuple[str, Slot]:
        """A key with a create slot taken, or the key whose slot comes soonest and
        the refused slot (its ``wait_s``).  Every key parked: the job fails."""
        keys = self.usable()
        if not keys:
            raise self._all_parked()
        soonest: tuple[str, Slot] | None = None
        for key in keys:
            slot = try_acquire(self.budgets.kie_create(key))
            if slot:
                return key, slot
            if soonest is None or slot.wait_s < soonest[1].wait_s:
                soonest = (key, slot)
        return soonest

    def upload_key(self) -> str:
        """A key for an upload (uploads are not limited): the next usable one."""
        keys = self.usable("upload")
        if not keys:
            raise self._all_parked()
        return keys[0]

    # -- calling KIE -----------------------------------------------------------------

    def call(self, key: str, operation: str, fn: Callable[[KieClient], object]):
        """``fn(client)`` with ``key``'s client.  A 401/402 parks the key and a 429
        pauses its ``operation`` budget ("create" or "poll"); both raise
        :class:`KeyTrouble` when trying again soon can help (a 401/402 with no
        other key left raises the :class:`KieApiError` itself).  Uploads are not
        limited: a 429 to one only waits."""
        try:
            return fn(self.client(key))
        except KieApiError as exc:
            if exc.code in PARKING_CODES:
                if self._refusals is not None:
                    self._refusals.labels(key, str(exc.code)).inc()
                if len(self.parked().keys() | {key}) >= len(self.fingerprints):
                    logger.error("KIE key %s answered %s and no other key is usable", key, exc.code)
                    raise
                self.park(key, exc.code)
                raise KeyTrouble(OTHER_KEY_WAIT_S, parked=True, error_class=PARKING_CODES[exc.code],
                                 detail=f"key {key} parked: {exc}") from exc
            if exc.code == 429:
                budgets = {"create": self.budgets.kie_create, "poll": self.budgets.kie_poll}
                pause_s = exc.retry_after or RATE_LIMITED_PAUSE_S
                if operation in budgets:
                    self.budgets.pause(budgets[operation](key), pause_s)
                logger.warning("KIE answered 429 to a %s with key %s; its budget pauses %.1f s", operation, key,
                               pause_s)
                others = operation == "create" and len(self.parked().keys() | {key}) < len(self.fingerprints)
                wait_s = OTHER_KEY_WAIT_S if others else pause_s  # a create can go with another key
                raise KeyTrouble(wait_s, parked=False, error_class="rate_limited", detail=str(exc)) from exc
            raise

    def park(self, key: str, code: int) -> None:
        """Stop using ``key`` for ``kie.key_park_s``, everywhere."""
        self.redis.set(_park_key(key), code, ex=max(1, round(self.park_s)))
        logger.error("KIE key %s answered %s: parked for %.0f s (%d of %d keys usable)", key, code, self.park_s,
                     len(self.fingerprints) - len(self.parked()), len(self.fingerprints))

    def parked(self) -> dict[str, int]:
        """The parked keys and the code that parked each."""
        flags = self.redis.mget([_park_key(fp) for fp in self.fingerprints])
        return {fp: int(flag) for fp, flag in zip(self.fingerprints, flags) if flag is not None}

    def _all_parked(self) -> PipelineError:
        codes = set(self.parked().values()) or {401}
        error_class = PARKING_CODES[402] if codes == {402} else PARKING_CODES[401]
        return PipelineError(error_class, f"every KIE key is parked (codes {sorted(codes)})")

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def _park_key(key: str) -> str:
    return f"neurocards:kie-key-parked:{key}"
