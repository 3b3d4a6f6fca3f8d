"""The download link of a video too big for Telegram (issue 20): the bot's web
app serves the finished file of a delivered job to whoever holds its signed link,
until the link expires (:mod:`neurocards.media.links`)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from .. import jobs
from ..context import Context
from ..media import links
from ..media.local import local_finished
from ..models import JobStatus

__all__ = ["VideoDownload"]

logger = logging.getLogger("neurocards.bot.video_links")

ANSWERS = {
    "forged": (404, "No such video."),
    "expired": (410, "This link has expired. Press “Send again” under the video in the chat for a new one."),
}


class VideoDownload:
    def __init__(self, context: Context) -> None:
        self.context = context

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        parts = request.match_info
        verdict = links.check(self.context.settings, parts["job_id"], parts["expires"], parts["signature"])
        if verdict != "ok":
            status, reason = ANSWERS[verdict]
            return web.Response(status=status, text=reason)
        job = await asyncio.to_thread(jobs.get_job, parts["job_id"])
        if job is None or job.status != JobStatus.DONE:
            return web.Response(status=404, text=ANSWERS["forged"][1])
        try:
            path = await asyncio.to_thread(self._finished_path, job)
        except Exception:
            logger.exception("job %s: the finished video cannot be served", job.id)
            return web.Response(status=503, text="The video is not available right now. Try again in a few minutes.")
        return web.FileResponse(path, headers={
            "Content-Type": "video/mp4",
            "Content-Disposition": f'attachment; filename="neurocards-{str(job.id)[:8]}.mp4"',
            "Cache-Control": "private, max-age=3600",
        })

    def _finished_path(self, job) -> Path:
        """The finished file as finishing left it (no probe: only its bytes are served), or made again here."""
        path = Path(job.finished_path) if job.finished_path else None
        return path if path is not None and path.is_file() else local_finished(self.context, job).path
