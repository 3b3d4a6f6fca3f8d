"""One taxonomy for every failure (DESIGN §7).

:func:`classify` turns any exception — from OpenAI, KIE.AI, Telegram, the
network, the database or our own checks — into a :class:`Failure`:

- ``transient``: worth retrying with backoff (``retry_after_s`` when the service said how long);
- ``system``: our side or a provider's, not worth retrying; the job fails, the credit
  comes back and the seller is told to try later;
- ``user``: something the seller can change (the photo, the description); the job
  fails, the credit comes back and the seller is told what to change.

The Retries middleware's ``retry_when`` and the dead-letter refund both read
it; the seller-facing texts are keyed on :attr:`Failure.error_class`.
"""

from __future__ import annotations

import dataclasses
import enum

import httpx
import openai
import peewee
import redis
from aiogram import exceptions as tg
from dramatiq.errors import RateLimitExceeded, Retry
from dramatiq.middleware.time_limit import TimeLimitExceeded

from .clients.kie import KieApiError
from .clients.prompt_writer import ContentFiltered, PromptWriterError
from .logs import scrub

__all__ = ["Kind", "Failure", "PipelineError", "classify", "TRY_AGAIN_HELPS"]


class Kind(enum.StrEnum):
    TRANSIENT = "transient"
    SYSTEM = "system"
    USER = "user"


@dataclasses.dataclass(frozen=True)
class Failure:
    kind: Kind
    error_class: str  # a stable slug: metrics label, texts key, Job.error_class
    detail: str = ""  # for operators; secrets scrubbed
    retry_after_s: float | None = None

    @property
    def transient(self) -> bool:
        return self.kind is Kind.TRANSIENT


class PipelineError(Exception):
    """A failure found by our own checks, already classified."""

    def __init__(self, error_class: str, detail: str = "", kind: Kind = Kind.SYSTEM) -> None:
        super().__init__(detail or error_class)
        self.failure = Failure(kind, error_class, detail)


#: Error classes where pressing "Try again" can help (shown as a button).
TRY_AGAIN_HELPS = frozenset(
    {"network", "rate_limited", "upstream_unavailable", "generation_failed", "generation_timeout",
     "delivery_failed", "expired", "timeout", "internal", "download_failed", "database", "redis",
     "kie_paused"}
)

#: KIE body codes (API_FACTS §1.2) -> (kind, error class).
KIE_CODES: dict[int, tuple[Kind, str]] = {
    400: (Kind.USER, "kie_rejected_input"),
    401: (Kind.SYSTEM, "kie_access"),
    402: (Kind.SYSTEM, "kie_no_credits"),
    404: (Kind.SYSTEM, "kie_rejected"),
    408: (Kind.TRANSIENT, "upstream_unavailable"),
    413: (Kind.USER, "photo_too_large"),
    422: (Kind.SYSTEM, "kie_rejected"),
    429: (Kind.TRANSIENT, "rate_limited"),
    433: (Kind.SYSTEM, "kie_access"),
    451: (Kind.SYSTEM, "kie_image_unreachable"),
    455: (Kind.TRANSIENT, "upstream_unavailable"),
    500: (Kind.TRANSIENT, "upstream_unavailable"),
    501: (Kind.SYSTEM, "generation_failed"),
    502: (Kind.TRANSIENT, "upstream_unavailable"),
    503: (Kind.TRANSIENT, "upstream_unavailable"),
    504: (Kind.TRANSIENT, "upstream_unavailable"),
    505: (Kind.SYSTEM, "kie_rejected"),
}

CONTENT_POLICY_WORDS = ("content polic", "flagged", "prohibited", "unsafe", "inappropriate", "moderat")


def is_content_policy(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in CONTENT_POLICY_WORDS)


def classify(exc: BaseException) -> Failure:
    """The :class:`Failure` that ``exc`` stands for."""
    for kinds, rule in _RULES:
        if isinstance(exc, kinds):
            return rule(exc)
    return Failure(Kind.SYSTEM, "internal", _detail(exc))


def _detail(exc: BaseException) -> str:
    return scrub(f"{type(exc).__name__}: {exc}")[:500]


def _kie(exc: KieApiError) -> Failure:
    refused_content = (exc.code == 400 and is_content_policy(exc.message)) or (
        exc.code == 422 and "rejected by flow" in exc.message.lower()
    )
    if refused_content:
        return Failure(Kind.USER, "content_policy", _detail(exc))
    undocumented = (Kind.TRANSIENT, "upstream_unavailable") if exc.code >= 500 else (Kind.SYSTEM, "kie_rejected")
    kind, error_class = KIE_CODES.get(exc.code, undocumented)
    return Failure(kind, error_class, _detail(exc), exc.retry_after if kind is Kind.TRANSIENT else None)


def _openai_status(exc: openai.APIStatusError) -> Failure:
    code = exc.code.lower() if isinstance(exc.code, str) else ""
    detail = _detail(exc)
    if isinstance(exc, openai.RateLimitError):
        if code == "insufficient_quota" or "insufficient_quota" in str(exc):
            return Failure(Kind.SYSTEM, "openai_quota", detail)
        return Failure(Kind.TRANSIENT, "rate_limited", detail, _retry_after_header(exc.response))
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return Failure(Kind.SYSTEM, "openai_access", detail)
    if exc.status_code in (408, 409) or exc.status_code >= 500:
        return Failure(Kind.TRANSIENT, "upstream_unavailable", detail)
    if code == "content_policy_violation" or is_content_policy(str(exc)):
        return Failure(Kind.USER, "content_policy", detail)
    if code in ("invalid_image_format", "invalid_image", "image_parse_error") or "image" in code:
        return Failure(Kind.USER, "photo_unreadable", detail)
    return Failure(Kind.SYSTEM, "openai_rejected", detail)


def _retry_after_header(response: httpx.Response | None) -> float | None:
    try:
        return float(response.headers["retry-after"]) if response is not None else None
    except (KeyError, ValueError):
        return None


def _telegram_bad_request(exc: tg.TelegramBadRequest) -> Failure:
    message = exc.message.lower()
    if "chat not found" in message or "user is deactivated" in message:
        return Failure(Kind.USER, "telegram_blocked", _detail(exc))
    return Failure(Kind.SYSTEM, "telegram_rejected", _detail(exc))


def _transport(error_class: str):
    return lambda exc: Failure(Kind.TRANSIENT, error_class, _detail(exc))


def _fixed(kind: Kind, error_class: str):
    return lambda exc: Failure(kind, error_class, _detail(exc))


#: Checked in order: the first matching class decides (subclasses before their bases).
_RULES: tuple = (
    (PipelineError, lambda exc: exc.failure),
    (Retry, lambda exc: Failure(Kind.TRANSIENT, "rate_limited", _detail(exc), (exc.delay or 0) / 1000 or None)),
    (RateLimitExceeded, _transport("rate_limited")),
    (TimeLimitExceeded, _transport("timeout")),
    (KieApiError, _kie),
    (ContentFiltered, _fixed(Kind.USER, "content_policy")),
    (PromptWriterError, _fixed(Kind.SYSTEM, "openai_rejected")),
    (openai.APIStatusError, _openai_status),
    (openai.APIConnectionError, _transport("network")),  # APITimeoutError included
    (openai.APIResponseValidationError, _fixed(Kind.SYSTEM, "openai_rejected")),
    (tg.TelegramRetryAfter, lambda exc: Failure(Kind.TRANSIENT, "rate_limited", _detail(exc), float(exc.retry_after))),
    (tg.TelegramMigrateToChat, _fixed(Kind.SYSTEM, "telegram_rejected")),
    (tg.TelegramEntityTooLarge, _fixed(Kind.SYSTEM, "video_too_large")),  # before its base, TelegramNetworkError
    (tg.TelegramNetworkError, _transport("network")),
    (tg.TelegramServerError, _transport("upstream_unavailable")),
    (tg.TelegramForbiddenError, _fixed(Kind.USER, "telegram_blocked")),
    (tg.TelegramBadRequest, _telegram_bad_request),
    (tg.TelegramUnauthorizedError, _fixed(Kind.SYSTEM, "telegram_access")),
    (tg.TelegramNotFound, _fixed(Kind.SYSTEM, "telegram_access")),
    (tg.TelegramConflictError, _transport("upstream_unavailable")),
    (tg.TelegramAPIError, _fixed(Kind.SYSTEM, "telegram_rejected")),
    (httpx.TimeoutException, _transport("network")),
    (httpx.TransportError, _transport("network")),  # connect, read, write, protocol errors
    (httpx.HTTPStatusError, lambda exc: Failure(
        Kind.TRANSIENT if exc.response.status_code >= 500 or exc.response.status_code == 429 else Kind.SYSTEM,
        "upstream_unavailable" if exc.response.status_code >= 500 else "download_failed", _detail(exc))),
    (peewee.OperationalError, _transport("database")),  # locked, connection lost
    (peewee.InterfaceError, _transport("database")),
    (redis.exceptions.ConnectionError, _transport("redis")),  # down, restarting, or loading its data
    (redis.exceptions.TimeoutError, _transport("redis")),
    (ConnectionError, _transport("network")),
    (TimeoutError, _transport("network")),
)
