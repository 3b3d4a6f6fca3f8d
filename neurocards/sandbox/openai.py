"""The OpenAI stand-in: Chat Completions and Responses with vision input.

It authenticates, validates and answers like OpenAI (same JSON shapes, status
codes and error bodies, so the real ``openai`` SDK raises its real exceptions),
and its answer is derived from the input: the first line of the user text and
a hash of the first image, e.g. ``Slow dolly-in on Red mug... [img:1a2b3c4d]``,
so tests can assert on it.

Faults (``/_sandbox/scenario``, matchable by ``{"endpoint": "chat"|"responses", "model"}``):
``rate_limit`` (params ``retry_after_s``), ``insufficient_quota``, ``server_error``,
``content_policy``, ``content_filter``, ``empty`` and ``slow`` (params ``delay_s``).
Control: ``GET /_sandbox/openai/requests?limit=N`` (the last accepted request
bodies, image data shortened) and ``POST /_sandbox/openai/config {"delay_s"}``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import dataclasses
import hashlib
import io
import time
import uuid
from typing import Any

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from neurocards.sandbox.common import CallLog, Faults, add_control_routes, json_body
from neurocards.settings import SANDBOX_API_KEY

__all__ = [
    "create_app",
    "FAULTS",
    "CALLS",
    "REQUESTS",
    "CONFIG",
    "KNOWN_FAULTS",
    "OpenAIConfig",
    "SeenImage",
    "sandbox_prompt",
]

KNOWN_FAULTS = frozenset(
    {"rate_limit", "insufficient_quota", "server_error", "content_policy", "content_filter", "empty", "slow"}
)
#: How long the ``slow`` fault holds an answer when its params name no ``delay_s``.
SLOW_DELAY_S = 10.0
#: How many accepted request bodies ``/_sandbox/openai/requests`` keeps.
MAX_REQUESTS_KEPT = 50
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


@dataclasses.dataclass
class OpenAIConfig:
    """Settings changeable at run time; ``delay_s`` is added to every answer."""

    api_keys: tuple[str, ...]
    delay_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class SeenImage:
    """An image the stand-in received: its MIME type, size and a short sha256."""

    source: str  # "data", "url" or "file"
    mime_type: str
    size_bytes: int
    digest: str


FAULTS = web.AppKey("openai_faults", Faults)
CALLS = web.AppKey("openai_calls", CallLog)
REQUESTS = web.AppKey("openai_requests", collections.deque)
CONFIG = web.AppKey("openai_config", OpenAIConfig)


class ErrorReply(Exception):
    """An OpenAI-shaped error to answer with: ``{"error": {message, type, param, code}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        self.headers = headers or {}


def invalid_image() -> ErrorReply:
    return ErrorReply(
        400,
        "You uploaded an unsupported image. Please make sure your image is valid.",
        code="invalid_image_format",
    )


def create_app(api_keys: tuple[str, ...] = (SANDBOX_API_KEY,), delay_s: float = 0.0) -> web.Application:
    """The stand-in app accepting Bearer ``api_keys``, answering after ``delay_s``."""
    app = web.Application(middlewares=[openai_middleware], client_max_size=64 * 1024**2)
    app[FAULTS] = Faults(KNOWN_FAULTS)
    app[CALLS] = CallLog()
    app[REQUESTS] = collections.deque(maxlen=MAX_REQUESTS_KEPT)
    app[CONFIG] = OpenAIConfig(api_keys=tuple(api_keys), delay_s=delay_s)

    def reset() -> None:
        app[REQUESTS].clear()
        app[CONFIG].delay_s = delay_s

    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/responses", responses)
    app.router.add_get("/_sandbox/openai/requests", list_requests)
    app.router.add_post("/_sandbox/openai/config", set_config)
    add_control_routes(app, app[FAULTS], app[CALLS], reset=reset)
    return app


@web.middleware
async def openai_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Turns :class:`ErrorReply` into its JSON answer; every answer gets an ``x-request-id``."""
    try:
        response = await handler(request)
    except ErrorReply as error:
        response = web.json_response(error.body, status=error.status, headers=error.headers)
    response.headers["x-request-id"] = f"req_{uuid.uuid4().hex}"
    return response


# -- the API ------------------------------------------------------------------


async def chat_completions(request: web.Request) -> web.Response:
    """``POST /v1/chat/completions``: a ``chat.completion`` object."""
    body = await accept(request, "chat")
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list) or not messages:
        raise empty_array("messages")
    texts, images = read_chat_messages(messages)
    finish_reason, content = await answer(request, "chat", body, texts, images)
    usage = usage_of(texts, images, content)
    return web.json_response(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            },
            "service_tier": "default",
            "system_fingerprint": "fp_sandbox",
        }
    )


async def responses(request: web.Request) -> web.Response:
    """``POST /v1/responses``: a ``response`` object whose ``output_text`` is the prompt."""
    body = await accept(request, "responses")
    if "input" not in body:
        raise missing("input")
    texts, images = read_responses_input(body["input"])
    finish_reason, content = await answer(request, "responses", body, texts, images)
    usage = usage_of(texts, images, content)
    filtered = finish_reason == "content_filter"
    message = {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": content, "annotations": [], "logprobs": []}],
    }
    return web.json_response(
        {
            "id": f"resp_{uuid.uuid4().hex}",
            "object": "response",
            "created_at": int(time.time()),
            "status": "incomplete" if filtered else "completed",
            "error": None,
            "incomplete_details": {"reason": "content_filter"} if filtered else None,
            "instructions": body.get("instructions"),
            "model": body["model"],
            "output": [] if filtered else [message],
            "parallel_tool_calls": True,
            "temperature": 1.0,
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "usage": {
                "input_tokens": usage[0],
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": usage[1],
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": sum(usage),
            },
        }
    )


async def accept(request: web.Request, endpoint: str) -> dict[str, Any]:
    """Count the call, check the key and the body's basics; the JSON body."""
    request.app[CALLS].record(f"{request.method} {request.path}")
    authenticate(request)
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


def authenticate(request: web.Request) -> None:
    """401 unless the request carries ``Authorization: Bearer <one of our keys>``."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ErrorReply(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if key.strip() not in request.app[CONFIG].api_keys:
        raise ErrorReply(
            401,
            "Incorrect API key provided: sk-***. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


async def answer(
    request: web.Request, endpoint: str, body: dict[str, Any], texts: list[str], images: list[SeenImage]
) -> tuple[str, str]:
    """Log the request, pick its outcome, wait; the finish reason and the text.

    The outcome is picked on arrival, so a slow answer cannot take a fault
    meant for a later request.
    """
    app = request.app
    seen = [dataclasses.asdict(image) for image in images]
    app[REQUESTS].append({"endpoint": endpoint, "body": shorten_images(body), "images": seen})
    faults, context = app[FAULTS], {"endpoint": endpoint, "model": body["model"]}
    slow = faults.take("slow", **context)
    delay_s = app[CONFIG].delay_s + (float(slow.get("delay_s", SLOW_DELAY_S)) if slow is not None else 0.0)
    error = fault_error(faults, context)
    if error is None and faults.active("content_filter", **context):
        outcome = ("content_filter", "")
    elif error is None and faults.active("empty", **context):
        outcome = ("stop", "")
    else:
        outcome = ("stop", sandbox_prompt(texts, images))
    await pause(request, delay_s)
    if error is not None:
        raise error
    return outcome


async def pause(request: web.Request, delay_s: float) -> None:
    """Wait ``delay_s`` without blocking the loop, or less once the client hangs up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + delay_s
    while (left := deadline - loop.time()) > 0 and not client_gone(request):
        await asyncio.sleep(min(left, 0.05))


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def fault_error(faults: Faults, context: dict[str, Any]) -> ErrorReply | None:
    """The error of the first error fault that fires now, shaped like OpenAI's, or None."""
    rate_limit = faults.take("rate_limit", **context)
    if rate_limit is not None:
        retry_after_s = int(rate_limit.get("retry_after_s", 1))
        return ErrorReply(
            429,
            f"Rate limit reached for {context['model']} in organization org-sandbox on requests per min "
            f"(RPM): Limit 3, Used 3, Requested 1. Please try again in {retry_after_s}s.",
            type="requests",
            code="rate_limit_exceeded",
            headers={"retry-after": str(retry_after_s)},
        )
    if faults.active("insufficient_quota", **context):
        return ErrorReply(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            type="insufficient_quota",
            code="insufficient_quota",
        )
    if faults.active("server_error", **context):
        return ErrorReply(
            500,
            "The server had an error while processing your request. Sorry about that!",
            type="server_error",
        )
    if faults.active("content_policy", **context):
        return ErrorReply(
            400,
            "Your request was rejected as a result of our safety system. Your request may contain content "
            "that is not allowed by our safety system.",
            code="content_policy_violation",
        )
    return None


def sandbox_prompt(texts: list[str], images: list[SeenImage]) -> str:
    """The deterministic answer: the first line of user text and the first image's digest."""
    first_line = next((line.strip() for text in texts for line in text.splitlines() if line.strip()), "")
    product = first_line[:80] or "the product"
    prompt = (
        f"Slow dolly-in on {product}, centered on a clean backdrop under soft studio light; "
        "the product stays unchanged while a gentle light sweep reveals its texture. Vertical 9:16, 8 seconds."
    )
    return f"{prompt} [img:{images[0].digest}]" if images else prompt


def usage_of(texts: list[str], images: list[SeenImage], content: str) -> tuple[int, int]:
    """Rough token counts (4 chars a token, 85 an image): prompt and completion."""
    return sum(len(t) for t in texts) // 4 + 85 * len(images) + 10, len(content) // 4


# -- reading the input ----------------------------------------------------------


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


def missing(param: str) -> ErrorReply:
    return ErrorReply(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def empty_array(param: str) -> ErrorReply:
    return ErrorReply(
        400,
        f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        param=param,
        code="empty_array",
    )


def invalid_value(param: str, value: Any, supported: tuple[str, ...] = ()) -> ErrorReply:
    allowed = f" Supported values are: {', '.join(repr(s) for s in supported)}." if supported else ""
    return ErrorReply(400, f"Invalid value: {value!r}.{allowed}", param=param, code="invalid_value")


# -- control ------------------------------------------------------------------


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


async def list_requests(request: web.Request) -> web.Response:
    """``GET /_sandbox/openai/requests?limit=N``: the last N accepted requests, oldest first."""
    try:
        limit = int(request.query.get("limit", MAX_REQUESTS_KEPT))
    except ValueError:
        return web.json_response({"error": "limit must be an integer"}, status=400)
    kept = list(request.app[REQUESTS])
    return web.json_response({"requests": kept[-limit:] if limit > 0 else []})


async def set_config(request: web.Request) -> web.Response:
    """``POST /_sandbox/openai/config {"delay_s": 1.5}``: change the base delay."""
    body = await json_body(request)
    config = request.app[CONFIG]
    try:
        delay_s = float(body.get("delay_s", config.delay_s))
    except (TypeError, ValueError):
        return web.json_response({"error": "delay_s must be a number"}, status=400)
    if delay_s < 0:
        return web.json_response({"error": "delay_s must not be negative"}, status=400)
    config.delay_s = delay_s
    return web.json_response({"delay_s": config.delay_s})
