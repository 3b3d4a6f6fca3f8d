"""Download links for finished videos too big for Telegram (issue 20).

A bot uploads at most 50 MB; a finished file over it (a cap raised for a local
Bot API server, a long Quality clip that would not shrink) still reaches the
seller: as a link to the bot's web app, per job, that expires.  The link
carries the job id and its expiry, signed with a key derived from the bot's
token (HMAC: the token itself never appears, and a link cannot be made for
another job or made to last longer).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from urllib.parse import urlsplit

from ..texts import text

__all__ = ["PATH", "signed_path", "video_link", "link_text", "check", "public_base"]

#: The web app's route: ``/v/<job id>/<expires, unix seconds>/<signature>``.
PATH = "/v/{job_id}/{expires}/{signature}"

#: What the key is derived for: the token signs nothing else this way.
_PURPOSE = b"neurocards video download link"


def _key(settings) -> bytes:
    return hmac.new(settings.telegram_token.encode(), _PURPOSE, hashlib.sha256).digest()


def _signature(settings, job_id: str, expires: int) -> str:
    return hmac.new(_key(settings), f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def signed_path(settings, job_id, now: float | None = None) -> tuple[str, int]:
    """The link's path for ``job_id`` and when it expires (unix seconds)."""
    expires = int((time.time() if now is None else now) + settings.telegram.link_ttl_s)
    job_id = str(uuid.UUID(str(job_id)))
    return PATH.format(job_id=job_id, expires=expires, signature=_signature(settings, job_id, expires)), expires


def public_base(settings) -> str:
    """Where sellers reach the bot's web app: ``telegram.public_url``, else the
    webhook's origin, else the address it listens on (a local stack)."""
    if settings.telegram.public_url:
        return settings.telegram.public_url.rstrip("/")
    if settings.telegram.webhook_url:
        parts = urlsplit(settings.telegram.webhook_url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"http://{settings.telegram.web_host}:{settings.telegram.web_port}"


def video_link(settings, job_id, now: float | None = None) -> tuple[str, int]:
    path, expires = signed_path(settings, job_id, now)
    return public_base(settings) + path, expires


def link_text(settings, job, size_bytes: int) -> str:
    """What the seller reads under the video's caption: its size, a fresh link and how long it works (HTML)."""
    url, _ = video_link(settings, job.id)
    days = max(1, round(settings.telegram.link_ttl_s / 86_400))
    return text(job.language, "video.link", url=url, size_mb=round(size_bytes / 1024 / 1024, 1), days=days)


def check(settings, job_id: str, expires: str, signature: str, now: float | None = None) -> str:
    """"ok", "expired" or "forged" for a link's parts."""
    try:
        job_id, expires_at = str(uuid.UUID(job_id)), int(expires)
    except ValueError:
        return "forged"
    if not hmac.compare_digest(_signature(settings, job_id, expires_at), signature):
        return "forged"
    return "ok" if (time.time() if now is None else now) < expires_at else "expired"
