"""What the bot accepts as a product photo, and why it refuses the rest."""

from __future__ import annotations

import dataclasses
import io

from PIL import Image, UnidentifiedImageError

from ..media.storage import PHOTO_TYPES

__all__ = ["PhotoProblem", "ACCEPTED_MIME_TYPES", "MAX_PHOTO_BYTES", "MIN_SIDE_PX", "check_size", "inspect_image",
           "suffix_of"]

#: Images taken as files (documents); anything else is "not a photo".
ACCEPTED_MIME_TYPES = PHOTO_TYPES

#: Bots can download files up to 20 MB (getFile).
MAX_PHOTO_BYTES = 20 * 1024 * 1024

#: Smaller images make unusable videos.
MIN_SIDE_PX = 256

#: What Pillow calls each accepted format, with its suffix.
FORMAT_SUFFIXES = {"JPEG": PHOTO_TYPES["image/jpeg"], "PNG": PHOTO_TYPES["image/png"], "WEBP": PHOTO_TYPES["image/webp"]}


class PhotoProblem(Exception):
    """A photo the bot refuses; ``key`` names the seller-facing text."""

    def __init__(self, key: str, **values) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def suffix_of(mime_type: str | None) -> str | None:
    """The file suffix for an accepted image type; None for anything else."""
    return ACCEPTED_MIME_TYPES.get((mime_type or "").lower())


def check_size(file_size: int | None, width: int | None = None, height: int | None = None) -> None:
    """Refuse before downloading what Telegram already told us is too big or too small."""
    if file_size and file_size > MAX_PHOTO_BYTES:
        raise PhotoProblem("photo.too_big", size_mb=f"{file_size / 1024 / 1024:.1f}")
    if width is not None and height is not None and min(width, height) < MIN_SIDE_PX:
        raise PhotoProblem("photo.too_small", width=width, height=height)


@dataclasses.dataclass(frozen=True)
class PhotoInfo:
    width: int
    height: int
    suffix: str

    @property
    def mime_type(self) -> str:
        return next(mime for mime, suffix in PHOTO_TYPES.items() if suffix == self.suffix)


def inspect_image(data: bytes) -> PhotoInfo:
    """Open the image for real (a renamed PDF is not a photo) and check its size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            width, height, kind = image.width, image.height, image.format
    except Image.DecompressionBombError:  # a few KB claiming billions of pixels
        raise PhotoProblem("photo.too_large_image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PhotoProblem("photo.unreadable") from None
    if kind not in FORMAT_SUFFIXES:
        raise PhotoProblem("photo.wrong_type")
    check_size(len(data), width, height)
    return PhotoInfo(width, height, FORMAT_SUFFIXES[kind])
