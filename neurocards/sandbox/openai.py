"""The OpenAI stand-in: Chat Completions and Responses with vision input.

It authenticates, validates and answers like OpenAI (same JSON shapes, status
codes and error bodies, so the real ``openai`` SDK raises its real exceptions),
and its answer is derived from the input: the first line of the user text and
a hash of the first image, e.g. ``Slow dolly-in on Red mug... [img:1a2b3c4d]``,
so tests can assert on it.

This module holds the app, its state, its routes and the choice of outcome;
reading requests lives in :mod:`~neurocards.sandbox.openai_requests`, building
answers and errors in :mod:`~neurocards.sandbox.openai_replies`.

Faults (``/_sandbox/scenario``, matchable by ``{"endpoint": "chat"|"responses", "model"}``):
``rate_limit`` (params ``retry_after_s``), ``insufficient_quota``, ``server_error``,
``content_policy``, ``content_filter``, ``empty`` and ``slow`` (params ``delay_s``).
Control: ``GET /_sandbox/openai/requests?limit=N`` (the last accepted request
bodies, image data shortened) and ``POST /_sandbox/openai/config {"delay_s"}``.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import uuid
from typing import Any

from aiohttp import web

from neurocards.sandbox.common import CallLog, Faults, add_control_routes, json_body
from neurocards.sandbox.openai_moderation import moderations
from neurocards.sandbox.openai_replies import (
    ErrorReply,
    chat_completion_object,
    empty_array,
    fault_error,
    invalid_value,
    missing,
    response_object,
    sandbox_ideas,
    sandbox_prompt,
    usage_of,
)
from neurocards.sandbox.openai_requests import (
    SeenImage,
    authenticate,
    read_body,
    read_chat_messages,
    read_responses_input,
    shorten_images,
)
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
    {"rate_limit", "insufficient_quota", "server_error", "content_policy", "content_filter", "empty", "refusal",
     "slow"}
)
#: What the model says when it refuses (the ``refusal`` fault).
REFUSAL = "I'm sorry, but I can't help with that image."
#: How long the ``slow`` fault holds an answer when its params name no ``delay_s``.
SLOW_DELAY_S = 10.0
#: How many accepted request bodies ``/_sandbox/openai/requests`` keeps.
MAX_REQUESTS_KEPT = 50


@dataclasses.dataclass
class OpenAIConfig:
    """Settings changeable at run time; ``delay_s`` is added to every answer."""

    api_keys: tuple[str, ...]
    delay_s: float = 0.0


FAULTS = web.AppKey("openai_faults", Faults)
CALLS = web.AppKey("openai_calls", CallLog)
REQUESTS = web.AppKey("openai_requests", collections.deque)
CONFIG = web.AppKey("openai_config", OpenAIConfig)


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
    app.router.add_post("/v1/moderations", moderations)
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
    body = await accept(request)
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list) or not messages:
        raise empty_array("messages")
    texts, images = read_chat_messages(messages)
    json_format_problem(body)
    finish_reason, content = await answer(request, "chat", body, texts, images)
    return web.json_response(chat_completion_object(body, finish_reason, content, usage_of(texts, images, content)))


async def responses(request: web.Request) -> web.Response:
    """``POST /v1/responses``: a ``response`` object whose ``output_text`` is the prompt."""
    body = await accept(request)
    if "input" not in body:
        raise missing("input")
    texts, images = read_responses_input(body["input"])
    finish_reason, content = await answer(request, "responses", body, texts, images)
    return web.json_response(response_object(body, finish_reason, content, usage_of(texts, images, content)))


def json_format_problem(body: dict[str, Any]) -> None:
    """``response_format``: OpenAI's types, and a ``json_object`` only for messages that say "JSON"."""
    kind = (body.get("response_format") or {"type": "text"}).get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid_value("response_format.type", kind, ("text", "json_object", "json_schema"))
    if kind == "json_object" and "json" not in json.dumps(body["messages"]).lower():
        raise ErrorReply(400, "'messages' must contain the word 'json' in some form, to use 'response_format' of "
                              "type 'json_object'.", param="messages")


async def accept(request: web.Request) -> dict[str, Any]:
    """Count the call, check the key and the body's basics; the JSON body."""
    request.app[CALLS].record(f"{request.method} {request.path}")
    authenticate(request, request.app[CONFIG].api_keys)
    return await read_body(request)


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
    elif error is None and faults.active("refusal", **context):  # the model's own refusal (``message.refusal``)
        outcome = ("refusal", REFUSAL)
    elif (body.get("response_format") or {}).get("type") == "json_object":  # "Suggest ideas" asks for JSON
        outcome = ("stop", sandbox_ideas(texts))
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


# -- control ------------------------------------------------------------------


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
