"""The OpenAI stand-in's moderation endpoint: ``POST /v1/moderations`` (issue 21).

Answers in OpenAI's shape (``{"id", "model", "results": [{"flagged",
"categories", "category_scores", "category_applied_input_types"}]}``), one
result for the whole input as OpenAI gives for a multi-modal input.  A text is
flagged when it holds one of :data:`FLAGGED_WORDS`'s words (whole words, any
case): a deterministic stand-in for the real classifier.  Images are accepted
and never flagged here.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from aiohttp import web

from neurocards.sandbox.openai_replies import ErrorReply, fault_error, invalid_value, missing

__all__ = ["CATEGORIES", "FLAGGED_WORDS", "moderations", "verdict"]

MODELS = ("omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-latest", "text-moderation-stable")

#: Every category the real endpoint reports, in its order.
CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
              "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
              "violence/graphic")

#: The words that flag a text, per category.
FLAGGED_WORDS = {
    "violence": ("kill", "murder", "massacre"),
    "illicit": ("cocaine", "heroin", "meth"),
    "illicit/violent": ("pistol", "rifle", "explosive"),
    "hate": ("nazi",),
    "sexual": ("porn", "nude"),
}


def verdict(texts: list[str], image_count: int) -> dict[str, Any]:
    """One moderation result for the texts (and images) given."""
    words = {word for text in texts for word in re.findall(r"[a-z]+", text.lower())}
    hits = {category for category, flagged in FLAGGED_WORDS.items() if words & set(flagged)}
    applied = ["text", "image"] if image_count else ["text"]
    return {
        "flagged": bool(hits),
        "categories": {category: category in hits for category in CATEGORIES},
        "category_scores": {category: 0.97 if category in hits else 0.0001 for category in CATEGORIES},
        "category_applied_input_types": {category: applied for category in CATEGORIES},
    }


def read_input(value: Any) -> tuple[list[str], int]:
    """The texts and the number of images of a moderation ``input``: a string, a list of
    strings, or a list of ``{"type": "text"|"image_url", ...}`` objects."""
    if isinstance(value, str):
        return [value], 0
    if not isinstance(value, list) or not value:
        raise invalid_value("input", value)
    texts, images = [], 0
    for number, item in enumerate(value):
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
        elif isinstance(item, dict) and item.get("type") == "image_url" and isinstance(item.get("image_url"), dict):
            images += 1
        else:
            raise invalid_value(f"input[{number}]", item)
    return texts, images


async def moderations(request: web.Request) -> web.Response:
    """``POST /v1/moderations``"""
    from neurocards.sandbox.openai import FAULTS, accept  # (openai imports this module for its route)

    body = await accept(request)
    if "input" not in body:
        raise missing("input")
    model = body.get("model", "omni-moderation-latest")
    if model not in MODELS:
        raise ErrorReply(404, f"The model `{model}` does not exist or you do not have access to it.",
                         code="model_not_found")
    texts, images = read_input(body["input"])
    faults = request.app[FAULTS]
    error = fault_error(faults, {"endpoint": "moderations", "model": model})
    slow = faults.take("slow", endpoint="moderations", model=model)
    if slow is not None:
        await asyncio.sleep(float(slow.get("delay_s", 30)))
    if error is not None:
        raise error
    return web.json_response({"id": f"modr-{uuid.uuid4().hex[:24]}", "model": model,
                              "results": [verdict(texts, images)]})
