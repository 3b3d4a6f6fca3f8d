"""KIE's callback: a doorbell, not a source of truth.

KIE reports a finished task at ``/kie/callback/<job>/<secret>``.  The URL
carries the job's own secret (checked in constant time); the HMAC header is
checked too when ``kie.webhook_hmac_key`` is set.  The body's status and URLs
are never believed: a valid callback only makes us poll KIE at once
(record-info is the final authority, API_FACTS §1.3).  The body is capped, and
of a flood of callbacks for one job only the first per poll makes a poll, so a
flood costs at most one KIE call per job per poll.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web

from .. import jobs
from ..clients.kie import KieClient
from ..context import Context
from ..dispatch import ActorName
from ..models import JobStatus
from .metrics import BotMetrics

__all__ = ["KieCallback", "MAX_BODY_BYTES"]

logger = logging.getLogger("neurocards.bot.kie_callback")

#: KIE's callback bodies are a few hundred bytes; anything much larger is not KIE.
MAX_BODY_BYTES = 64 * 1024
#: How long the first callback for a job's poll keeps later ones from sending another.
DOORBELL_TTL_S = 60


class KieCallback:
    def __init__(self, context: Context, redis, metrics: BotMetrics) -> None:
        self.context = context
        self.redis = redis  # asyncio Redis
        self.hmac_key = context.settings.kie.webhook_hmac_key.get_secret_value()
        self.metrics = metrics

    async def __call__(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return self._answer("too_large", 413)
        job = await asyncio.to_thread(jobs.get_job, request.match_info["job_id"])
        if job is None or not hmac.compare_digest(job.callback_secret.encode(), request.match_info["secret"].encode()):
            return self._answer("unknown_job", 404)
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return self._answer("too_large", 413)
        try:
            status = KieClient.parse_callback(json.loads(body))
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
        ring = f"neurocards:kie-callback:{job.id}:{job.poll_count}"
        if not await self.redis.set(ring, 1, nx=True, ex=DOORBELL_TTL_S):
            return self._answer("repeated", 200)
        await asyncio.to_thread(self.context.send, ActorName.POLL_GENERATION, str(job.id), job.poll_count, True)
        return self._answer("accepted", 200)

    def _answer(self, outcome: str, status: int) -> web.Response:
        self.metrics.kie_callbacks.labels(outcome).inc()
        if outcome != "accepted":
            logger.info("KIE callback %s", outcome)
        return web.json_response({"ok": status == 200, "outcome": outcome}, status=status)
