"""The KIE.AI stand-in's generation API: Veo (§1.3) and the market jobs API (§1.4).

Create requests are validated as documented (422 with a message naming the
field), limited to 20 per 10 s per key, and turned into :class:`Task` objects
whose outcome the faults decide at creation.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from neurocards.sandbox.common import json_body
from neurocards.sandbox.kie_state import CODE_MESSAGES, KIE, UNLIMITED_BALANCE, KieSandbox, envelope, injected_error
from neurocards.sandbox.kie_tasks import Failure, Task, deliver_callbacks, market_record, veo_record

__all__ = ["add_api_routes"]

VEO_MODELS = ("veo3", "veo3_fast", "veo3_lite")
GENERATION_TYPES = ("TEXT_2_VIDEO", "FIRST_AND_LAST_FRAMES_2_VIDEO", "REFERENCE_2_VIDEO")
VEO_ASPECT_RATIOS = ("16:9", "9:16", "Auto")
VEO_RESOLUTIONS = ("720p", "1080p", "4k")
#: The Veo message for a prompt refused by the content policy (§1.3 callback example).
CONTENT_POLICY_MESSAGE = "Your prompt was flagged by Website as violating content policies."
#: What Veo says when it cannot fetch the image (§1.2, code 400).
IMAGE_FETCH_MESSAGE = "Failed to fetch the image"


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """The ``input`` rules of one market model: prompt length, required fields, allowed values."""

    prompt_max: int = 10000
    required: tuple[str, ...] = ()
    choices: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    booleans: tuple[str, ...] = ()


#: The documented market models, plus the unconfirmed ones seen in public code (generic rules).
MARKET_MODELS = {
    "kling-2.6/image-to-video": InputSpec(1000, ("sound", "duration"), {"duration": ("5", "10")}, ("sound",)),
    "sora-2-image-to-video": InputSpec(
        10000, (), {"aspect_ratio": ("portrait", "landscape"), "n_frames": ("10", "15")}, ("remove_watermark",)
    ),
    "sora-2-pro-image-to-video": InputSpec(),
    "kling/v2-5-turbo-image-to-video-pro": InputSpec(),
    "kling-3.0/video": InputSpec(),
    "bytedance/seedance-2": InputSpec(),
}


def is_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def veo_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a Veo generate body, or None."""
    prompt, urls = body.get("prompt"), body.get("imageUrls", [])
    model, kind = body.get("model", "veo3_fast"), body.get("generationType")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt is required"
    if model not in VEO_MODELS:
        return f"model must be one of {', '.join(VEO_MODELS)}"
    if not isinstance(urls, list) or not all(is_url(url) for url in urls):
        return "imageUrls must be a list of public http(s) URLs"
    if kind is not None and kind not in GENERATION_TYPES:
        return f"generationType must be one of {', '.join(GENERATION_TYPES)}"
    if len(urls) > (3 if kind == "REFERENCE_2_VIDEO" else 2):
        return "too many imageUrls for this generationType"
    if kind == "REFERENCE_2_VIDEO" and model == "veo3":
        return "REFERENCE_2_VIDEO works with veo3_fast only"
    for key in ("aspect_ratio", "aspectRatio"):
        if key in body and body[key] not in VEO_ASPECT_RATIOS:
            return f"{key} must be one of {', '.join(VEO_ASPECT_RATIOS)}"
    if "resolution" in body and body["resolution"] not in VEO_RESOLUTIONS:
        return f"resolution must be one of {', '.join(VEO_RESOLUTIONS)}"
    return callback_problem(body)


def market_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a jobs/createTask body, or None."""
    spec, fields = MARKET_MODELS.get(body.get("model")), body.get("input")
    if spec is None:
        return "model is not supported"
    if not isinstance(fields, dict):
        return "input is required"
    prompt, urls = fields.get("prompt"), fields.get("image_urls")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > spec.prompt_max:
        return f"input.prompt is required, at most {spec.prompt_max} characters"
    if not isinstance(urls, list) or len(urls) != 1 or not is_url(urls[0]):
        return "input.image_urls must hold one public http(s) URL"
    for key in spec.required:
        if key not in fields:
            return f"input.{key} is required"
    for key, allowed in spec.choices.items():
        if key in fields and fields[key] not in allowed:
            return f"input.{key} must be one of {', '.join(allowed)}"
    for key in spec.booleans:
        if key in fields and not isinstance(fields[key], bool):
            return f"input.{key} must be a boolean"
    return callback_problem(body)


def callback_problem(body: dict[str, Any]) -> str | None:
    url = body.get("callBackUrl")
    return None if url in (None, "") or is_url(url) else "callBackUrl must be an http(s) URL"


def bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()


async def credit(request: web.Request) -> web.Response:
    """GET /api/v1/chat/credit: the account's remaining credits, ``data`` an integer (§1.1)."""
    sandbox = request.app[KIE]
    error = injected_error(sandbox, "credit")
    if error is not None:
        return error
    balance = sandbox.config.balance
    return envelope(200, "success", UNLIMITED_BALANCE if balance is None else int(balance))


async def veo_generate(request: web.Request) -> web.Response:
    """POST /api/v1/veo/generate"""
    return await create(request, "veo", "generate", veo_problem)


async def market_create(request: web.Request) -> web.Response:
    """POST /api/v1/jobs/createTask"""
    return await create(request, "market", "createTask", market_problem)


async def create(request: web.Request, api: str, endpoint: str, problem_of) -> web.Response:
    """The shared create path: faults, the rate limit, validation, then a new task."""
    sandbox, now_s = request.app[KIE], time.time()
    try:
        body = await json_body(request)
    except web.HTTPBadRequest as exc:
        return envelope(400, exc.text)
    model = str(body.get("model") or ("veo3_fast" if api == "veo" else ""))
    error = injected_error(sandbox, endpoint, model=model)
    if error is not None:
        return error
    if sandbox.over_create_limit(bearer(request), now_s):
        return envelope(429, "Rate limit exceeded: at most 20 new generation requests per 10 seconds", status=429)
    problem = problem_of(body)
    if problem:
        return envelope(422, problem)
    content_policy = sandbox.faults.take("content_policy", endpoint=endpoint, model=model)
    if content_policy is not None and content_policy.get("stage", "create") == "create":
        return envelope(int(content_policy.get("code", 400)), content_policy.get("msg") or CONTENT_POLICY_MESSAGE)
    charged = sandbox.config.charge(model)
    if charged is None:
        return envelope(402, CODE_MESSAGES[402])
    task = new_task(request, sandbox, api, endpoint, model, body, now_s)
    task.credits = charged
    if content_policy is not None:
        code = int(content_policy.get("code", 400))
        task.failure = Failure(2, code, content_policy.get("msg") or CONTENT_POLICY_MESSAGE)
    sandbox.count_create(bearer(request), now_s)
    sandbox.tasks[task.task_id] = task
    if task.callback_url:
        sandbox.spawn(deliver_callbacks(sandbox, task))
    return envelope(200, "success", {"taskId": task.task_id})


def new_task(
    request: web.Request, sandbox: KieSandbox, api: str, endpoint: str, model: str, body: dict, now_s: float
) -> Task:
    """A task whose clock, failure, record-null polls and callback count the faults decide now."""
    task_id = sandbox.new_task_id(api, model)
    context = {"endpoint": endpoint, "model": model}
    take = sandbox.faults.take
    never = take("never_finishes", **context) is not None
    elsewhere = take("result_url", **context)  # a result URL pointing somewhere else (params: {"url": ...})
    task = Task(
        task_id=task_id,
        api=api,  # type: ignore[arg-type]
        model=model,
        request=body,
        callback_url=body.get("callBackUrl") or None,
        result_url=(elsewhere or {}).get("url") or f"{sandbox.base_url(request)}/files/results/{task_id}.mp4",
        created_s=now_s,
        done_s=None if never else now_s + sandbox.config.generation_s,
        failure=flagged_failure(take("success_flag", **context)) or unfetchable_image(sandbox, request, body),
    )
    record_null = take("record_null", **context)
    task.record_null_polls = int(record_null.get("polls", 1)) if record_null is not None else 0
    if take("no_callback", **context) is not None:
        task.callback_times = 0
    elif take("callback_twice", **context) is not None:
        task.callback_times = 2
    return task


def flagged_failure(params: dict[str, Any] | None) -> Failure | None:
    """The ``success_flag`` fault: flag 2 or 3 with its errorCode and errorMessage."""
    if params is None:
        return None
    flag = int(params.get("flag", 3))
    return Failure(flag, int(params.get("errorCode", 501)), str(params.get("errorMessage", "Generation Failed")))


def unfetchable_image(sandbox: KieSandbox, request: web.Request, body: dict[str, Any]) -> Failure | None:
    """A task fails when its image points into our own file store but no such file was uploaded."""
    urls = body.get("imageUrls") or (body.get("input") or {}).get("image_urls") or []
    prefix = f"{sandbox.base_url(request)}/files/uploads/"
    for url in urls:
        if url.startswith(prefix) and url[len(prefix):] not in sandbox.files:
            return Failure(2, 400, IMAGE_FETCH_MESSAGE)
    return None


async def veo_record_info(request: web.Request) -> web.Response:
    """GET /api/v1/veo/record-info?taskId="""
    return await record(request, "veo", "record-info", "record is null", veo_record)


async def market_record_info(request: web.Request) -> web.Response:
    """GET /api/v1/jobs/recordInfo?taskId="""
    return await record(request, "market", "recordInfo", "recordInfo is null", market_record)


async def record(request: web.Request, api: str, endpoint: str, null_message: str, render) -> web.Response:
    """The shared poll path: count the poll, apply faults, answer with the task's record."""
    sandbox = request.app[KIE]
    task_id = request.query.get("taskId", "")
    if not task_id:
        return envelope(400, "taskId parameter is required")
    task = sandbox.tasks.get(task_id)
    if task is not None and task.api == api:
        task.polls += 1
    error = injected_error(sandbox, endpoint, task_id=task_id)
    if error is not None:
        return error
    if task is None or task.api != api:
        return envelope(422, null_message) if api == "veo" else envelope(404, "Task not found")
    if task.polls <= task.record_null_polls:
        return envelope(422, null_message)
    return envelope(200, "success", render(task, time.time()))


def add_api_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/chat/credit", credit)
    app.router.add_post("/api/v1/veo/generate", veo_generate)
    app.router.add_get("/api/v1/veo/record-info", veo_record_info)
    app.router.add_post("/api/v1/jobs/createTask", market_create)
    app.router.add_get("/api/v1/jobs/recordInfo", market_record_info)
