"""Logging set-up: one line per event, secrets scrubbed from every record."""

from __future__ import annotations

import logging
import re
import sys

__all__ = ["setup_logging", "SecretsFilter", "scrub", "job_logger"]

#: A Telegram bot token wherever it appears (``bot<id>:<secret>`` in URLs too).
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
#: ``Authorization: Bearer …`` values and ``api_key=…`` style pairs.
BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}")
#: A password inside a URL's userinfo (``scheme://user:password@host``).
URL_PASSWORD_PATTERN = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")

FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every known secret and token-shaped string masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = TOKEN_PATTERN.sub("***", text)
    text = BEARER_PATTERN.sub(r"\1***", text)
    return URL_PASSWORD_PATTERN.sub(r"\1***@", text)


class SecretsFilter(logging.Filter):
    """Rewrites each record's message (arguments and traceback included) without secrets."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        record.msg, record.args = scrub(message, self.secrets), None
        return True


def setup_logging(settings=None, level: int = logging.INFO) -> None:
    """Log to stderr through a :class:`SecretsFilter` that knows our secrets."""
    secrets = secrets_of(settings) if settings is not None else ()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretsFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiohttp.access", "peewee", "openai._base_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def secrets_of(settings) -> tuple[str, ...]:
    return (
        settings.telegram.token.get_secret_value(),
        settings.telegram.webhook_secret.get_secret_value(),
        settings.kie.api_key.get_secret_value(),
        settings.kie.webhook_hmac_key.get_secret_value(),
        settings.openai.api_key.get_secret_value(),
        settings.redis.url.get_secret_value(),
    )


class _JobAdapter(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        return f"job={self.extra['job']} {msg}", kwargs


def job_logger(job_id, name: str = "neurocards.jobs") -> logging.LoggerAdapter:
    """A logger whose every line carries ``job=<id>``."""
    return _JobAdapter(logging.getLogger(name), {"job": job_id})
