"""The bot's web app: Telegram's webhook (webhook mode), KIE's callback, /healthz."""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from .. import jobs
from ..clients.kie import KieClient
from ..context import Context
from ..db import database
from ..dispatch import ActorName
from ..models import JobStatus
from .metrics import BotMetrics

__all__ = ["build_web_app"]

logger = logging.getLogger("neurocards.bot.web")


def build_web_app(context: Context, bot: Bot, dispatcher: Dispatcher, metrics: BotMetrics) -> web.Application:
    settings = context.settings
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/kie/callback/{job_id}/{secret}", KieCallback(context, metrics))
    if settings.telegram.mode == "webhook":
        secret = settings.telegram.webhook_secret.get_secret_value() or None
        SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(app, path="/telegram/webhook")
    return app


async def healthz(request: web.Request) -> web.Response:
    try:
        await asyncio.to_thread(database.execute_sql, "SELECT 1")
    except Exception as exc:  # reported, not raised: this is the health check
        return web.json_response({"ok": False, "database": type(exc).__name__}, status=503)
    return web.json_response({"ok": True})


class KieCallback:
    """KIE reports a finished task here.  The URL carries the job's own secret; the
    HMAC header is checked when ``kie.webhook_hmac_key`` is set.  A valid callback
    sends an immediate poll: record-info is the final authority (API_FACTS §1.3),
    and the poll's sequence number makes a duplicate callback, or one racing a
    scheduled poll, do nothing twice.  KIE gets a quick 200 either way it can act on."""

    def __init__(self, context: Context, metrics: BotMetrics) -> None:
        self.context = context
        self.hmac_key = context.settings.kie.webhook_hmac_key.get_secret_value()
        self.metrics = metrics

    async def __call__(self, request: web.Request) -> web.Response:
        job = await asyncio.to_thread(jobs.get_job, request.match_info["job_id"])
        if job is None or not hmac.compare_digest(job.callback_secret, request.match_info["secret"]):
            return self._answer("unknown_job", 404)
        try:
            payload = await request.json()
            status = KieClient.parse_callback(payload)
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._answer("malformed", 400)
        if self.hmac_key and not KieClient.verify_signature(
            status.task_id,
            request.headers.get("X-Webhook-Timestamp", ""),
            request.headers.get("X-Webhook-Signature", ""),
            self.hmac_key,
        ):
            return self._answer("bad_signature", 401)
        if status.task_id != job.kie_task_id or job.status != JobStatus.GENERATING:
            return self._answer("stale", 200)
        await asyncio.to_thread(self.context.send, ActorName.POLL_GENERATION, str(job.id), job.poll_count)
        return self._answer("accepted", 200)

    def _answer(self, outcome: str, status: int) -> web.Response:
        self.metrics.kie_callbacks.labels(outcome).inc()
        if outcome != "accepted":
            logger.info("KIE callback %s", outcome)
        return web.json_response({"ok": status == 200, "outcome": outcome}, status=status)
