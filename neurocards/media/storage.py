"""Where photos and videos live, and the streamed, capped, checked video download."""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import tempfile
import time
from pathlib import Path

import httpx

from ..errors import Kind, PipelineError
from .result_urls import check_result_url

__all__ = ["Storage", "is_mp4", "PHOTO_TYPES", "photo_mime_type"]

#: The image types a product photo may have, with the suffix it is stored under.
PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}

#: Content types a video download may come with; anything else (an HTML error page…) is refused.
VIDEO_CONTENT_TYPES = ("video/mp4", "video/quicktime", "application/octet-stream", "binary/octet-stream", "")

#: Redirects a result download may follow (each checked like the first URL).
MAX_REDIRECTS = 5

#: A browser-like User-Agent: result hosts behind Cloudflare refuse bare clients (API_FACTS §1.8).
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Neurocards/0.1"


def photo_mime_type(path: Path | str) -> str:
    """The MIME type of a stored photo, from the suffix it was stored under."""
    suffix = Path(path).suffix.lower()
    return next((mime for mime, known in PHOTO_TYPES.items() if known == suffix), "image/jpeg")


def is_mp4(head: bytes) -> bool:
    """An ISO base media file starts with a box whose type is ``ftyp``."""
    return len(head) >= 12 and head[4:8] == b"ftyp"


class Storage:
    def __init__(self, root: Path, *, max_video_bytes: int, trusted_hosts: frozenset = frozenset()) -> None:
        self.root = Path(root)
        self.max_video_bytes = max_video_bytes
        self.trusted_hosts = trusted_hosts  # (host, port) result URLs may use although inside our network

    def photo_path(self, job_id, suffix: str = ".jpg") -> Path:
        return self._dir("photos") / f"{job_id}{suffix}"

    def video_path(self, job_id) -> Path:
        """KIE's clip, as downloaded."""
        return self._dir("videos") / f"{job_id}.mp4"

    def finished_path(self, job_id, preset: str) -> Path:
        """The clip finished for ``preset``: what the seller gets."""
        return self._dir("videos") / f"{job_id}.{preset}.mp4"

    def cover_path(self, job_id, preset: str) -> Path:
        """The finished video's cover frame."""
        return self._dir("videos") / f"{job_id}.{preset}.jpg"

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def usage(self) -> dict[str, dict[str, int]]:
        """Files and bytes kept here, per kind (``photos``, ``videos``)."""
        report = {}
        for kind in ("photos", "videos"):
            sizes = [path.stat().st_size for path in (self.root / kind).glob("*") if path.is_file()]
            report[kind] = {"files": len(sizes), "bytes": sum(sizes)}
        return report

    def sweep(self, older_than_s: float, *, now: float | None = None) -> tuple[int, int]:
        """Remove files (and abandoned partial downloads) not touched for
        ``older_than_s``; return (files, bytes) removed.  Safe to run from several
        processes at once: storage is a cache, and each file can be fetched again."""
        cutoff = (now if now is not None else time.time()) - older_than_s
        removed = freed = 0
        for kind in ("photos", "videos"):
            for path in (self.root / kind).glob("*"):
                with contextlib.suppress(FileNotFoundError):
                    stat = path.stat()
                    if path.is_file() and stat.st_mtime < cutoff:
                        path.unlink()
                        removed, freed = removed + 1, freed + stat.st_size
        return removed, freed

    def save_photo(self, job_id, data: bytes, suffix: str = ".jpg") -> Path:
        path = self.photo_path(job_id, suffix)
        _write_atomically(path, [data])
        return path

    def download_video(self, url: str, dest: Path, *, timeout_s: float = 60.0, transport=None) -> int:
        """Stream ``url`` to ``dest``; return its size.

        The URL (and every redirect) is checked before we connect
        (:mod:`neurocards.media.result_urls`).  The body goes to a temporary file
        beside ``dest`` and is renamed only once it is whole, within the size cap
        and starts like an mp4, so a half written or wrong file is never delivered.
        """
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0))
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False, verify=_tls_context(),
                          headers={"User-Agent": USER_AGENT}) as client:
            for _ in range(MAX_REDIRECTS + 1):
                check_result_url(url, self.trusted_hosts)
                with client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = str(response.url.join(response.headers["location"]))
                        continue
                    response.raise_for_status()
                    self._check_headers(response)
                    return _write_atomically(dest, self._capped(response.iter_bytes()))  # as they arrive
        raise PipelineError("download_failed", f"more than {MAX_REDIRECTS} redirects")

    def _check_headers(self, response: httpx.Response) -> None:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in VIDEO_CONTENT_TYPES:
            raise PipelineError("video_invalid", f"result has content type {content_type!r}")
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_video_bytes:
            raise PipelineError("video_too_large", f"result is {int(length)} bytes, cap {self.max_video_bytes}")

    def _capped(self, chunks):
        total, head = 0, b""
        for chunk in chunks:
            total += len(chunk)
            if total > self.max_video_bytes:
                raise PipelineError("video_too_large", f"result exceeds the cap of {self.max_video_bytes} bytes")
            if len(head) < 12:
                head += chunk[: 12 - len(head)]
                if len(head) >= 12 and not is_mp4(head):
                    raise PipelineError("video_invalid", "result is not an mp4")
            yield chunk
        if not is_mp4(head):
            raise PipelineError("video_invalid", "result is empty or not an mp4", kind=Kind.SYSTEM)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS settings of every download, made once per process: building them
    (loading the CA bundle) costs more CPU than a whole 1 MB download, and a
    context is safe to share between threads."""
    return httpx.create_ssl_context()


def _write_atomically(dest: Path, chunks) -> int:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return size
