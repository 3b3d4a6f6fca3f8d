"""What the OpenAI stand-in answers: ``chat.completion`` and ``response`` objects,
the deterministic prompt inside them, and OpenAI-shaped error replies.

The shapes follow OpenAI's own (the SDK parses them into its real types), and
each fault's error carries the status, ``type`` and ``code`` OpenAI sends, so the
SDK raises the exception it raises for the real service.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neurocards.sandbox.common import Faults
    from neurocards.sandbox.openai_requests import SeenImage

__all__ = [
    "ErrorReply",
    "invalid_image",
    "missing",
    "empty_array",
    "invalid_value",
    "fault_error",
    "sandbox_prompt",
    "sandbox_ideas",
    "usage_of",
    "chat_completion_object",
    "response_object",
]


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


def sandbox_ideas(texts: list[str]) -> str:
    """The deterministic answer to a JSON request (three video concepts): from the first line of user text."""
    first_line = next((line.strip() for text in texts for line in text.splitlines() if line.strip()), "")
    product = first_line[:40] or "the product"
    return json.dumps({"ideas": [f"{product} turning on a pedestal, slow orbit",
                                 f"{product} on a sunny kitchen table, push-in",
                                 f"Macro glide over {product}, then the whole"]}, ensure_ascii=False)


def usage_of(texts: list[str], images: list[SeenImage], content: str) -> tuple[int, int]:
    """Rough token counts (4 chars a token, 85 an image): prompt and completion."""
    return sum(len(t) for t in texts) // 4 + 85 * len(images) + 10, len(content) // 4


def chat_completion_object(
    body: dict[str, Any], finish_reason: str, content: str, usage: tuple[int, int]
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice holding ``content`` (or, for the
    ``refusal`` outcome, the model's refusal)."""
    refused = finish_reason == "refusal"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None if refused else content,
                            "refusal": content if refused else None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop" if refused else finish_reason,
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


def response_object(body: dict[str, Any], finish_reason: str, content: str, usage: tuple[int, int]) -> dict[str, Any]:
    """A ``response`` object whose ``output_text`` is ``content``; a filtered one is incomplete and empty."""
    filtered = finish_reason == "content_filter"
    message = {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "refusal", "refusal": content} if finish_reason == "refusal" else
                    {"type": "output_text", "text": content, "annotations": [], "logprobs": []}],
    }
    return {
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
