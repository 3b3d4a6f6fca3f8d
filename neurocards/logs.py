"""Logging set-up: one line per event, the job id on every line about a job,
secrets scrubbed from every record.

    2026-11-28 21:14:03,118 level=WARNING proc=4711 logger=neurocards.jobs job=6f1f… failed (content_policy)

A traceback stays on its event's line (newlines written as ``\n``), so a log
shipper sees one event per line.
"""

from __future__ import annotations

import logging
import re
import sys

__all__ = ["setup_logging", "configure_handler", "SecretsFilter", "JobContext", "OneLineFormatter", "scrub",
           "job_logger"]

#: A Telegram bot token wherever it appears (``bot<id>:<secret>`` in URLs too).
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
#: ``Authorization: Bearer …`` values and ``api_key=…`` style pairs.
BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}")
#: A password inside a URL's userinfo (``scheme://user:password@host``).
URL_PASSWORD_PATTERN = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")

FORMAT = "%(asctime)s level=%(levelname)s proc=%(process)d logger=%(name)s job=%(job)s %(message)s"


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


class JobContext(logging.Filter):
    """Sets ``record.job``: the job a :func:`job_logger` line names, else the job
    of the Dramatiq message being processed (its first argument), else ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "job", None):
            record.job = _current_job() or "-"
        return True


def _current_job() -> str | None:
    try:
        from dramatiq.middleware import CurrentMessage
    except ImportError:  # pragma: no cover - dramatiq is a dependency
        return None
    message = CurrentMessage.get_current_message()
    if message is not None and message.args and message.queue_name.startswith("pipeline"):
        return str(message.args[0])
    return None


class OneLineFormatter(logging.Formatter):
    """One event, one line: newlines (tracebacks included) are written as ``\n``."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")


def configure_handler(handler: logging.Handler, secrets: tuple[str, ...] = ()) -> None:
    """Our format, the job context and the secrets filter on ``handler`` (idempotent)."""
    handler.setFormatter(OneLineFormatter(FORMAT))
    for kind, make in ((JobContext, JobContext), (SecretsFilter, lambda: SecretsFilter(secrets))):
        if not any(isinstance(existing, kind) for existing in handler.filters):
            handler.addFilter(make())


def setup_logging(settings=None, level: int = logging.INFO) -> None:
    """Log to stderr in our format, through a :class:`SecretsFilter` that knows our secrets."""
    secrets = secrets_of(settings) if settings is not None else ()
    handler = logging.StreamHandler(sys.stderr)
    configure_handler(handler, secrets)
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
        *(key.get_secret_value() for key in settings.kie.api_keys),
    )


def job_logger(job_id, name: str = "neurocards.jobs") -> logging.LoggerAdapter:
    """A logger whose every line carries ``job=<id>``."""
    return logging.LoggerAdapter(logging.getLogger(name), {"job": str(job_id)})
