"""Media objects as Telegram builds them (PhotoSize[], Video, Document, Sticker, Voice) over the
stand-in's file store, and the view of a file the transcript shows."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from PIL import Image

from .telegram_state import FileStore, StoredFile

__all__ = ["ASSETS", "photo_sizes", "media_object", "file_view"]

#: The stand-in's test files: product.jpg (a seller's photo), tiny.png, the method table.
ASSETS = Path(__file__).with_name("assets")
#: Longest side of the smaller copies Telegram makes of a photo; the original comes last.
THUMBNAIL_SIDES = (90, 320, 800)


async def photo_sizes(files: FileStore, data: bytes, *, width: int | None = None, height: int | None = None,
                      file_size: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """PhotoSize[] for an image, smallest first and the original last, each a downloadable JPEG.

    ``width``, ``height`` and ``file_size`` override what the original reports (a test can fake a
    4000 px or 25 MB photo); a ValueError when ``data`` is not an image.
    """
    (actual_width, actual_height), copies = await asyncio.to_thread(_scaled_copies, data)
    width, height = width or actual_width, height or actual_height
    sizes = []
    for side, copy in copies:
        scale = side / max(width, height)
        stored = files.add("photo", copy, mime_type="image/jpeg")
        sizes.append(_photo_size(stored, max(1, round(width * scale)), max(1, round(height * scale))))
    original = files.add("photo", data, size=file_size, mime_type="image/jpeg")
    return [*sizes, _photo_size(original, width, height)]


def _scaled_copies(data: bytes) -> tuple[tuple[int, int], list[tuple[int, bytes]]]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            size, copies = image.size, []
            for side in THUMBNAIL_SIDES:
                if side < max(size):
                    copy = image.convert("RGB")
                    copy.thumbnail((side, side))
                    buffer = io.BytesIO()
                    copy.save(buffer, "JPEG", quality=80)
                    copies.append((side, buffer.getvalue()))
            return size, copies
    except OSError as exc:  # PIL's UnidentifiedImageError included
        raise ValueError("not an image") from exc


def _photo_size(stored: StoredFile, width: int, height: int) -> dict[str, Any]:
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": width, "height": height,
            "file_size": stored.size}  # fmt: skip


def media_object(kind: str, stored: StoredFile, **fields: Any) -> dict[str, Any]:
    """A Video, Document, Sticker or Voice object: the file's ids and size plus ``fields``."""
    obj = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, **fields}
    if kind in ("video", "document"):
        obj.update(file_name=stored.file_name, mime_type=stored.mime_type)
    elif kind == "voice":
        obj["mime_type"] = stored.mime_type
    obj["file_size"] = stored.size
    return {key: value for key, value in obj.items() if value is not None}


def file_view(stored: StoredFile, **fields: Any) -> dict[str, Any]:
    """A file as the transcript shows it: enough to check exactly what was sent."""
    view = {"file_id": stored.file_id, "file_size": stored.size, "sha256": stored.sha256,
            "mime_type": stored.mime_type, "file_name": stored.file_name, **fields}  # fmt: skip
    return {key: value for key, value in view.items() if value is not None}
