"""The KIE.AI stand-in's files: the upload API (§1.6) and the public file host.

Uploaded files are served at their ``downloadUrl`` (``/files/uploads/<filePath>``);
finished tasks' videos at ``/files/results/<taskId>.mp4``, where the download
faults (slow, cut, wrong type, huge) play out.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from neurocards.sandbox.common import json_body
from neurocards.sandbox.kie_clips import clip
from neurocards.sandbox.kie_state import KIE, KieSandbox, StoredFile, envelope, injected_error

__all__ = ["add_file_routes"]

#: Bytes per chunk when streaming a result.
CHUNK_BYTES = 64 * 1024
#: What a CDN's bot check looks like to a client that wanted a video.
WRONG_TYPE_PAGE = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>error code: 1010</body>"


def decode_base64(value: Any) -> tuple[bytes, str | None] | None:
    """Plain base64 or a ``data:<mime>;base64,`` URL -> (bytes, mime or None); None when not base64."""
    if not isinstance(value, str) or not value:
        return None
    mime = None
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        mime = header[5:].split(";")[0] or None
    try:
        return base64.b64decode(value, validate=True), mime
    except (binascii.Error, ValueError):
        return None


def storage_path(upload_path: Any, file_name: str) -> str | None:
    """``uploadPath/fileName`` with no empty, ``.`` or ``..`` segments; None when unsafe."""
    if not isinstance(upload_path, str) or not upload_path.strip("/"):
        return None
    segments = [*upload_path.strip("/").split("/"), file_name]
    if any(segment in ("", ".", "..") or "\\" in segment for segment in segments):
        return None
    return "/".join(segments)


def store(request: web.Request, data: bytes, mime: str | None, upload_path: Any, file_name: Any) -> web.Response:
    """Keep the file (the same name overwrites) and answer with the documented upload body."""
    sandbox = request.app[KIE]
    name = file_name if isinstance(file_name, str) and file_name and "/" not in file_name else None
    mime = mime or (mimetypes.guess_type(name)[0] if name else None) or "application/octet-stream"
    name = name or f"{uuid.uuid4().hex}{mimetypes.guess_extension(mime) or ''}"
    path = storage_path(upload_path, name)
    if path is None:
        return envelope(400, "uploadPath is required and must be a relative folder")
    sandbox.files[path] = StoredFile(data, mime)
    info = {
        "fileName": name,
        "filePath": path,
        "downloadUrl": f"{sandbox.base_url(request)}/files/uploads/{path}",
        "fileSize": len(data),
        "mimeType": mime,
        "uploadedAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return web.json_response({"success": True, "code": 200, "msg": "File uploaded successfully", "data": info})


async def base64_upload(request: web.Request) -> web.Response:
    """POST /api/file-base64-upload with ``{base64Data, uploadPath, fileName?}``"""
    error = injected_error(request.app[KIE], "upload")
    if error is not None:
        return error
    try:
        body = await json_body(request)
    except web.HTTPBadRequest as exc:
        return envelope(400, exc.text)
    decoded = decode_base64(body.get("base64Data"))
    if decoded is None:
        return envelope(400, "base64Data is required: plain base64 or a data URL")
    return store(request, decoded[0], decoded[1], body.get("uploadPath"), body.get("fileName"))


async def stream_upload(request: web.Request) -> web.Response:
    """POST /api/file-stream-upload, multipart with ``file``, ``uploadPath``, ``fileName?``"""
    error = injected_error(request.app[KIE], "upload")
    if error is not None:
        return error
    if not request.content_type.startswith("multipart/"):
        return envelope(400, "multipart/form-data is required")
    fields: dict[str, str] = {}
    data, mime, part_name = None, None, None
    async for part in await request.multipart():
        if part.name == "file":
            data, mime, part_name = await part.read(), part.headers.get("Content-Type"), part.filename
        elif part.name:
            fields[part.name] = await part.text()
    if data is None:
        return envelope(400, "file is required")
    return store(request, bytes(data), mime, fields.get("uploadPath"), fields.get("fileName") or part_name)


async def serve_upload(request: web.Request) -> web.Response:
    """GET /files/uploads/<filePath>: the uploaded bytes, public, as KIE's CDN serves them."""
    stored = request.app[KIE].files.get(request.match_info["path"])
    if stored is None:
        raise web.HTTPNotFound()
    return web.Response(body=stored.data, content_type=stored.mime_type)


async def serve_result(request: web.Request) -> web.StreamResponse:
    """GET /files/results/<taskId>.mp4: a real clip in the task's aspect ratio, unless a download fault says otherwise."""
    sandbox = request.app[KIE]
    task_id = request.match_info["task_id"]
    task = sandbox.tasks.get(task_id)
    if task is None or task.state(time.time()) != "success":
        raise web.HTTPNotFound()
    context = {"endpoint": "download", "task_id": task_id}
    error = injected_error(sandbox, **context)
    if error is not None:
        return error
    take = sandbox.faults.take
    if take("download_wrong_type", **context) is not None:
        return web.Response(text=WRONG_TYPE_PAGE, content_type="text/html")
    if (params := take("download_huge", **context)) is not None:
        size = int(float(params.get("mb", 51)) * 1024 * 1024)
        return await stream(request, huge_chunks(sandbox, size), size)
    if take("download_cut", **context) is not None:
        return await stream_cut(request, sandbox.sample)
    delay_s = float((take("download_slow", **context) or {}).get("delay_s", 0.0))
    chunk_bytes = CHUNK_BYTES if not delay_s else CHUNK_BYTES // 4
    video = await asyncio.to_thread(clip, task.aspect_ratio)  # made once per machine
    chunks = (video[i : i + chunk_bytes] for i in range(0, len(video), chunk_bytes))
    return await stream(request, chunks, len(video), delay_s)


def huge_chunks(sandbox: KieSandbox, size: int) -> Iterator[bytes]:
    """``size`` bytes that start like an mp4, produced a chunk at a time (never held whole)."""
    zeros = bytes(CHUNK_BYTES)
    head = sandbox.sample[:32]
    yield head
    sent = len(head)
    while sent < size:
        chunk = zeros[: min(CHUNK_BYTES, size - sent)]
        yield chunk
        sent += len(chunk)


async def stream(
    request: web.Request, chunks: Iterable[bytes], length: int, delay_s: float = 0.0
) -> web.StreamResponse:
    """Send ``length`` bytes of video/mp4 chunk by chunk; a client hanging up early is fine."""
    response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
    response.content_length = length
    await response.prepare(request)
    try:
        for chunk in chunks:
            await response.write(chunk)
            if delay_s:
                await asyncio.sleep(delay_s)
        await response.write_eof()
    except ConnectionError:
        pass
    return response


async def stream_cut(request: web.Request, data: bytes) -> web.StreamResponse:
    """Promise all of ``data`` in Content-Length, send half, then close the connection."""
    response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
    response.content_length = len(data)
    await response.prepare(request)
    await response.write(data[: len(data) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


def add_file_routes(app: web.Application) -> None:
    app.router.add_post("/api/file-base64-upload", base64_upload)
    app.router.add_post("/api/file-stream-upload", stream_upload)
    app.router.add_get("/files/uploads/{path:.+}", serve_upload)
    app.router.add_get("/files/results/{task_id}.mp4", serve_result)
