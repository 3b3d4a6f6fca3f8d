"""The error taxonomy, table-driven over every class of failure we can meet (DESIGN §7)."""

import httpx
import httpx2
import openai
import peewee
import redis
import pytest
from aiogram import exceptions as tg
from aiogram.methods import SendVideo
from dramatiq import Retry
from dramatiq.middleware.time_limit import TimeLimitExceeded

from neurocards.clients.kie import KieApiError
from neurocards.clients.prompt_writer import ContentFiltered, EmptyPrompt
from neurocards.errors import KIE_CODES, Kind, PipelineError, classify
from neurocards.texts import FAILURE_TEXTS, LANGUAGES, failure_key, text

T, S, U = Kind.TRANSIENT, Kind.SYSTEM, Kind.USER

KIE_BODY_CODES = [
    (400, "Only English prompts are supported", U, "kie_rejected_input"),
    (400, "Your prompt was flagged by Website as violating content policies.", U, "content_policy"),
    (401, "You do not have access permissions", S, "kie_access"),
    (402, "insufficient credits", S, "kie_no_credits"),
    (404, "Task not found", S, "kie_rejected"),
    (408, "Upstream is currently experiencing service issues.", T, "upstream_unavailable"),
    (422, "record result data is blank", S, "kie_rejected"),
    (422, "Your request was rejected by Flow(...)", U, "content_policy"),
    (429, "Rate limit exceeded", T, "rate_limited"),
    (433, "Sub-key Usage Exceeds Limit", S, "kie_access"),
    (451, "Failed to fetch the image.", S, "kie_image_unreachable"),
    (455, "service unavailable", T, "upstream_unavailable"),
    (500, "Internal Error, Please try again later", T, "upstream_unavailable"),
    (501, "generation failed", S, "generation_failed"),
    (505, "feature disabled", S, "kie_rejected"),
    (503, "bad gateway from a proxy", T, "upstream_unavailable"),
    (418, "something undocumented", S, "kie_rejected"),
]


@pytest.mark.parametrize("code, message, kind, error_class", KIE_BODY_CODES)
def test_every_kie_body_code(code, message, kind, error_class):
    failure = classify(KieApiError(200, code, message))
    assert (failure.kind, failure.error_class) == (kind, error_class)


def test_every_documented_kie_code_is_in_the_table():
    documented = {400, 401, 402, 404, 408, 422, 429, 433, 451, 455, 500, 501, 505}
    assert documented <= set(KIE_CODES)


def test_kie_rate_limit_keeps_its_retry_after():
    assert classify(KieApiError(429, 429, "Rate limit exceeded", retry_after=7.0)).retry_after_s == 7.0


def _openai_status(cls, status, body=None, headers=None):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(status, request=request, headers=headers or {}, json=body or {})
    return cls("error", response=response, body=(body or {}).get("error"))


OPENAI_CASES = [
    (_openai_status(openai.RateLimitError, 429, {"error": {"code": "rate_limit_exceeded"}}, {"retry-after": "3"}), T, "rate_limited"),
    (_openai_status(openai.RateLimitError, 429, {"error": {"code": "insufficient_quota", "type": "insufficient_quota"}}), S, "openai_quota"),
    (_openai_status(openai.InternalServerError, 500), T, "upstream_unavailable"),
    (_openai_status(openai.InternalServerError, 503), T, "upstream_unavailable"),
    (_openai_status(openai.BadRequestError, 400, {"error": {"code": "content_policy_violation"}}), U, "content_policy"),
    (_openai_status(openai.BadRequestError, 400, {"error": {"code": "invalid_image_format"}}), U, "photo_unreadable"),
    (_openai_status(openai.BadRequestError, 400, {"error": {"code": "context_length_exceeded"}}), S, "openai_rejected"),
    (_openai_status(openai.AuthenticationError, 401), S, "openai_access"),
    (_openai_status(openai.PermissionDeniedError, 403), S, "openai_access"),
    (_openai_status(openai.NotFoundError, 404), S, "openai_rejected"),
    (_openai_status(openai.ConflictError, 409), T, "upstream_unavailable"),
    (_openai_status(openai.UnprocessableEntityError, 422), S, "openai_rejected"),
    (openai.APIConnectionError(request=httpx2.Request("POST", "http://x")), T, "network"),
    (openai.APITimeoutError(request=httpx2.Request("POST", "http://x")), T, "network"),
    (ContentFiltered("filtered"), U, "content_policy"),
    (EmptyPrompt("empty"), S, "openai_rejected"),
]


@pytest.mark.parametrize("exc, kind, error_class", OPENAI_CASES, ids=lambda v: type(v).__name__)
def test_every_openai_exception_class(exc, kind, error_class):
    failure = classify(exc)
    assert (failure.kind, failure.error_class) == (kind, error_class)


def test_openai_rate_limit_reads_retry_after():
    assert classify(OPENAI_CASES[0][0]).retry_after_s == 3.0


METHOD = SendVideo(chat_id=1, video="file-id")

TELEGRAM_CASES = [
    (tg.TelegramRetryAfter(METHOD, "Too Many Requests: retry after 9", 9), T, "rate_limited"),
    (tg.TelegramMigrateToChat(METHOD, "migrated", 2), S, "telegram_rejected"),
    (tg.TelegramEntityTooLarge(METHOD, "Request Entity Too Large"), S, "video_too_large"),
    (tg.TelegramNetworkError(METHOD, "Request timeout error"), T, "network"),
    (tg.TelegramServerError(METHOD, "Internal Server Error"), T, "upstream_unavailable"),
    (tg.RestartingTelegram(METHOD, "restart"), T, "upstream_unavailable"),
    (tg.TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"), U, "telegram_blocked"),
    (tg.TelegramForbiddenError(METHOD, "Forbidden: user is deactivated"), U, "telegram_blocked"),
    (tg.TelegramBadRequest(METHOD, "Bad Request: chat not found"), U, "telegram_blocked"),
    (tg.TelegramBadRequest(METHOD, "Bad Request: wrong file identifier/HTTP URL specified"), S, "telegram_rejected"),
    (tg.TelegramUnauthorizedError(METHOD, "Unauthorized"), S, "telegram_access"),
    (tg.TelegramNotFound(METHOD, "Not Found"), S, "telegram_access"),
    (tg.TelegramConflictError(METHOD, "Conflict"), T, "upstream_unavailable"),
    (tg.TelegramAPIError(METHOD, "I'm a teapot"), S, "telegram_rejected"),
]


@pytest.mark.parametrize("exc, kind, error_class", TELEGRAM_CASES, ids=lambda v: type(v).__name__)
def test_every_aiogram_exception_class(exc, kind, error_class):
    failure = classify(exc)
    assert (failure.kind, failure.error_class) == (kind, error_class)


def test_entity_too_large_is_not_retried_like_other_network_errors():
    # TelegramEntityTooLarge is a TelegramNetworkError; retrying it would never help.
    exc = tg.TelegramEntityTooLarge(METHOD, "Request Entity Too Large")
    assert isinstance(exc, tg.TelegramNetworkError)
    assert not classify(exc).transient


def test_telegram_retry_after_is_kept():
    assert classify(TELEGRAM_CASES[0][0]).retry_after_s == 9.0


REQUEST = httpx.Request("GET", "http://127.0.0.1/video.mp4")

OTHER_CASES = [
    (httpx.ConnectError("refused", request=REQUEST), T, "network"),
    (httpx.ConnectTimeout("slow", request=REQUEST), T, "network"),
    (httpx.ReadTimeout("slow", request=REQUEST), T, "network"),
    (httpx.ReadError("reset", request=REQUEST), T, "network"),
    (httpx.RemoteProtocolError("peer closed connection", request=REQUEST), T, "network"),
    (httpx.HTTPStatusError("503", request=REQUEST, response=httpx.Response(503, request=REQUEST)), T, "upstream_unavailable"),
    (httpx.HTTPStatusError("404", request=REQUEST, response=httpx.Response(404, request=REQUEST)), S, "download_failed"),
    (peewee.OperationalError("database is locked"), T, "database"),
    (peewee.InterfaceError("connection already closed"), T, "database"),
    (redis.exceptions.ConnectionError("Connection refused"), T, "redis"),
    (redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"), T, "redis"),
    (TimeLimitExceeded(), T, "timeout"),
    (Retry("wait", delay=2000), T, "rate_limited"),
    (PipelineError("video_too_large", "60 MB"), S, "video_too_large"),
    (PipelineError("content_policy", "flagged", kind=U), U, "content_policy"),
    (ValueError("a bug"), S, "internal"),
]


@pytest.mark.parametrize("exc, kind, error_class", OTHER_CASES, ids=lambda v: type(v).__name__)
def test_transport_database_and_our_own_errors(exc, kind, error_class):
    failure = classify(exc)
    assert (failure.kind, failure.error_class) == (kind, error_class)


def test_details_never_carry_secrets():
    exc = httpx.ConnectError("https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendVideo")
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in classify(exc).detail


ALL_CLASSES = {classify(case[0]).error_class for case in OPENAI_CASES + TELEGRAM_CASES + OTHER_CASES} | {
    error_class for _, _, _, error_class in KIE_BODY_CODES
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("error_class", sorted(ALL_CLASSES))
def test_every_error_class_has_a_seller_message_in_both_languages(language, error_class):
    message = text(language, failure_key(error_class), support="@help")
    assert message and "{" not in message


def test_failure_texts_point_at_existing_keys():
    for language in LANGUAGES:
        for key in set(FAILURE_TEXTS.values()) | {"failure.system"}:
            assert text(language, key, support="@help")
