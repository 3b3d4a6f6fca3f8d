"""The bot's web app: Telegram's webhook (webhook mode, always with its secret),
KIE's callback (a doorbell), download links of videos too big for Telegram, /healthz."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from ..context import Context
from ..db import database
from ..media import links
from .kie_callback import KieCallback
from .metrics import BotMetrics
from .video_links import VideoDownload
from .webhook import WEBHOOK_PATH, guard_webhook, webhook_secret

__all__ = ["build_web_app"]

logger = logging.getLogger("neurocards.bot.web")


def build_web_app(context: Context, bot: Bot, dispatcher: Dispatcher, redis, metrics: BotMetrics) -> web.Application:
    settings = context.settings
    webhook = settings.telegram.mode == "webhook"
    secret = webhook_secret(settings)
    middlewares = [guard_webhook(secret, metrics.webhook_refused.inc)] if webhook else []
    app = web.Application(client_max_size=1024 * 1024, middlewares=middlewares)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/kie/callback/{job_id}/{secret}", KieCallback(context, redis, metrics))
    app.router.add_get(links.PATH, VideoDownload(context))
    if webhook:
        SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(app, path=WEBHOOK_PATH)
    return app


async def healthz(request: web.Request) -> web.Response:
    try:
        await asyncio.to_thread(database.execute_sql, "SELECT 1")
    except Exception as exc:  # reported, not raised: this is the health check
        return web.json_response({"ok": False, "database": type(exc).__name__}, status=503)
    return web.json_response({"ok": True})
