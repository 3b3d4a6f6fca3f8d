"""Telegram's webhook, authenticated always (issue 16).

Webhook mode never runs without a secret: when ``telegram.webhook_secret`` is
empty, one is derived from the bot token (so every instance agrees without
configuration) and given to ``setWebhook``.  A request without Telegram's
``X-Telegram-Bot-Api-Secret-Token`` header, or with a wrong one, gets 401, is
counted, and never reaches a handler: a forged ``successful_payment`` mints
nothing and a forged ``/start`` acts as no one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from aiohttp import web

__all__ = ["WEBHOOK_PATH", "SECRET_HEADER", "webhook_secret", "guard_webhook"]

logger = logging.getLogger("neurocards.bot.webhook")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_secret(settings) -> str:
    """The configured secret, or one derived from the bot token (Telegram allows
    1-256 characters of A-Z, a-z, 0-9, _ and -: hex fits)."""
    configured = settings.telegram.webhook_secret.get_secret_value()
    if configured:
        return configured
    return hmac.new(settings.telegram_token.encode(), b"neurocards:webhook-secret:v1", hashlib.sha256).hexdigest()


def guard_webhook(secret: str, on_refused):
    """An aiohttp middleware refusing webhook requests without the right secret
    (compared in constant time); ``on_refused()`` counts each refusal."""
    expected = secret.encode()

    @web.middleware
    async def guard(request: web.Request, handler):
        if request.path == WEBHOOK_PATH:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                on_refused()
                logger.warning("webhook request without the right secret from %s refused", request.remote)
                return web.Response(status=401, text="Unauthorized")
        return await handler(request)

    return guard
