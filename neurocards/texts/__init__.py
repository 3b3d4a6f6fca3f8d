"""Every seller-facing text, one catalogue per language (``ru`` default, ``en``).

Texts are HTML (the bot's parse mode); placeholders are filled with
:func:`text`, which escapes every value, so user and model text can never
break the markup.
"""

from __future__ import annotations

import html

from . import en, ru

__all__ = ["text", "language_of", "failure_key", "menu_commands", "one_line", "LANGUAGES", "DEFAULT_LANGUAGE"]

CATALOGUES = {"ru": ru.TEXTS, "en": en.TEXTS}
LANGUAGES = tuple(CATALOGUES)
DEFAULT_LANGUAGE = "ru"

#: Which failure text a seller sees for each error class (DESIGN §7).
FAILURE_TEXTS = {
    "content_policy": "failure.content_policy",
    "kie_rejected_input": "failure.photo_rejected",
    "photo_missing": "failure.photo_missing",
    "photo_unreadable": "failure.photo_rejected",
    "photo_too_large": "failure.photo_rejected",
    "generation_failed": "failure.generation_failed",
    "kie_paused": "failure.paused",
    "generation_timeout": "failure.busy",
    "rate_limited": "failure.busy",
    "upstream_unavailable": "failure.busy",
    "network": "failure.busy",
    "timeout": "failure.busy",
    "expired": "failure.busy",
    "database": "failure.busy",
    "redis": "failure.busy",
    "video_too_large": "failure.video",
    "video_invalid": "failure.video",
    "download_failed": "failure.video",
    "result_url_refused": "failure.video",
    "delivery_failed": "failure.video",
}


def language_of(code: str | None) -> str:
    """Our language for a Telegram ``language_code``: English for ``en*``, else Russian."""
    return "en" if code and code.lower().startswith("en") else DEFAULT_LANGUAGE


def text(language: str, key: str, **values) -> str:
    """The ``key`` text in ``language`` (Russian when unknown), values HTML-escaped."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    template = catalogue[key]
    return template.format(**{name: html.escape(str(value), quote=False) for name, value in values.items()})


def failure_key(error_class: str) -> str:
    return FAILURE_TEXTS.get(error_class, "failure.system")


def menu_commands(language: str) -> list[tuple[str, str]]:
    """The bot's command menu in ``language``: (command, description), in catalogue order."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    prefix = "command."
    return [(key[len(prefix):], value) for key, value in catalogue.items() if key.startswith(prefix)]


def one_line(value: str, limit: int) -> str:
    """``value`` on one line (runs of whitespace made one space), cut to at most
    ``limit`` characters with an ellipsis: how a seller's product info, a report's
    comment or a broadcast is quoted in a line or card of ours."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"
