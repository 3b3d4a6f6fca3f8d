"""What the OpenAI stand-in reads from a request: the key, the JSON body, and the
user's texts and images in Chat Completions ``messages`` or a Responses ``input``.

Everything is validated the way OpenAI validates it (a bad key is a 401, a
missing or unknown field a 400 naming it, an image that is not a real JPEG, PNG,
WEBP or GIF a 400 ``invalid_image_format``), so the SDK sees the same errors.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import io
from typing import Any

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from neurocards.sandbox.common import json_body
from neurocards.sandbox.openai_replies import ErrorReply, empty_array, invalid_image, invalid_value, missing

__all__ = [
    "SeenImage",
    "authenticate",
    "read_body",
    "read_chat_messages",
    "read_responses_input",
    "shorten_images",
]

#: How much of a data URL the request log keeps.
DATA_URL_KEPT_CHARS = 48
#: The image formats OpenAI's vision models accept (Pillow's names).
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
#: The ``detail`` values the SDK's types allow.
IMAGE_DETAILS = ("auto", "low", "high", "original")
#: The message roles and content part types each API accepts.
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")
CHAT_PARTS = ("text", "image_url", "input_audio", "file")
RESPONSES_ROLES = ("system", "developer", "user", "assistant")
RESPONSES_PARTS = ("input_text", "input_image", "input_file", "output_text")


@dataclasses.dataclass(frozen=True)
class SeenImage:
    """An image the stand-in received: its MIME type, size and a short sha256."""

    source: str  # "data", "url" or "file"
    mime_type: str
    size_bytes: int
    digest: str


def authenticate(request: web.Request, api_keys: tuple[str, ...]) -> None:
    """401 unless the request carries ``Authorization: Bearer <one of api_keys>``."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ErrorReply(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if key.strip() not in api_keys:
        raise ErrorReply(
            401,
            "Incorrect API key provided: sk-***. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON body, which must name a ``model``; OpenAI's 400 otherwise."""
    try:
        body = await json_body(request)
    except web.HTTPBadRequest:
        raise ErrorReply(
            400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent "
            "was not valid JSON.)"
        ) from None
    if not body.get("model"):
        raise ErrorReply(400, "you must provide a model parameter")
    return body


def read_chat_messages(messages: list[Any]) -> tuple[list[str], list[SeenImage]]:
    """The user texts and images of Chat Completions ``messages``, validated."""
    texts: list[str] = []
    images: list[SeenImage] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in CHAT_ROLES:
            raise invalid_value(f"{where}.role", message.get("role") if isinstance(message, dict) else message)
        content = message.get("content")
        if isinstance(content, str):
            parts = [{"type": "text", "text": content}]
        elif isinstance(content, list):
            parts = content
        else:
            raise missing(f"{where}.content")
        for number, part in enumerate(parts):
            read_part(part, f"{where}.content[{number}]", CHAT_PARTS, message["role"] == "user", texts, images)
    return texts, images


def read_responses_input(value: Any) -> tuple[list[str], list[SeenImage]]:
    """The user texts and images of a Responses ``input`` (a string or a list of items)."""
    if isinstance(value, str):
        return [value], []
    if not isinstance(value, list) or not value:
        raise empty_array("input")
    texts: list[str] = []
    images: list[SeenImage] = []
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, dict) or item.get("role") not in RESPONSES_ROLES:
            raise invalid_value(f"{where}.role", item.get("role") if isinstance(item, dict) else item)
        content = item.get("content")
        parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
        if not isinstance(parts, list):
            raise missing(f"{where}.content")
        for number, part in enumerate(parts):
            read_part(part, f"{where}.content[{number}]", RESPONSES_PARTS, item["role"] == "user", texts, images)
    return texts, images


def read_part(
    part: Any, where: str, kinds: tuple[str, ...], from_user: bool, texts: list[str], images: list[SeenImage]
) -> None:
    """Validate one content part; collect its text or image if the user sent it."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind not in kinds:
        raise invalid_value(f"{where}.type", kind, supported=kinds)
    if kind in ("text", "input_text"):
        if not isinstance(part.get("text"), str):
            raise missing(f"{where}.text")
        if from_user:
            texts.append(part["text"])
    elif kind in ("image_url", "input_image"):
        image = read_image(part, where, kind)
        if from_user:
            images.append(image)


def read_image(part: dict[str, Any], where: str, kind: str) -> SeenImage:
    """Chat nests ``{"url", "detail"}`` under ``image_url``; Responses has a plain string."""
    if kind == "image_url":
        nested = part.get("image_url")
        if not isinstance(nested, dict):
            raise missing(f"{where}.image_url")
        url, detail, field = nested.get("url"), nested.get("detail", "auto"), f"{where}.image_url.url"
    else:
        url, detail, field = part.get("image_url"), part.get("detail", "auto"), f"{where}.image_url"
        if url is None and part.get("file_id"):
            return SeenImage("file", "", 0, hashlib.sha256(part["file_id"].encode()).hexdigest()[:8])
    if not isinstance(url, str) or not url:
        raise missing(field)
    if detail not in IMAGE_DETAILS:
        raise invalid_value(f"{where}.detail", detail, supported=IMAGE_DETAILS)
    if url.startswith(("https://", "http://")):
        return SeenImage("url", "", 0, hashlib.sha256(url.encode()).hexdigest()[:8])
    return decode_data_url(url)


def decode_data_url(url: str) -> SeenImage:
    """A ``data:image/...;base64,...`` URL holding a real JPEG, PNG, WEBP or GIF, or a 400."""
    header, comma, payload = url.partition(",")
    mime_type = header.removeprefix("data:").removesuffix(";base64")
    if not comma or not header.startswith("data:image/") or not header.endswith(";base64"):
        raise invalid_image()
    try:
        data = base64.b64decode(payload, validate=True)
        with Image.open(io.BytesIO(data)) as picture:
            picture.verify()
            image_format = picture.format
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError, SyntaxError):
        raise invalid_image() from None
    if image_format not in IMAGE_FORMATS:
        raise invalid_image()
    return SeenImage("data", mime_type, len(data), hashlib.sha256(data).hexdigest()[:8])


def shorten_images(body: dict[str, Any]) -> Any:
    """``body`` with every data URL cut to its start and its length, for the request log."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str) and value.startswith("data:") and len(value) > DATA_URL_KEPT_CHARS:
            return f"{value[:DATA_URL_KEPT_CHARS]}...({len(value)} chars)"
        return value

    return walk(body)
