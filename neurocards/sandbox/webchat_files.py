"""Files for the web chat's <img> and <video> elements, answered in byte ranges.

A browser's video element asks for ``Range: bytes=N-`` to read an mp4's index and to seek; an
answer without ranges makes some browsers refuse to seek or to show a duration.  The stand-in
holds files in memory (``FileStore``), so the range is a slice.
"""

from __future__ import annotations

import re

from aiohttp import web

__all__ = ["ranged_response"]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def ranged_response(request: web.Request, data: bytes, content_type: str) -> web.Response:
    """``data`` whole (200), the one range asked for (206), or 416 for a range past its end.
    Several ranges in one header are answered whole, as RFC 9110 allows."""
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    match = _RANGE.fullmatch(request.headers.get("Range", "").strip())
    if match is None or match.group(1) == match.group(2) == "":
        return web.Response(body=data, content_type=content_type, headers=headers)
    size = len(data)
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return web.Response(status=206, body=data[start : end + 1], content_type=content_type, headers=headers)
