"""The KIE.AI stand-in: file upload, Veo and market generation, callbacks, faults.

It speaks ``shared/API_FACTS.md`` §1: Bearer auth, the ``{code, msg, data}``
envelope with business errors inside HTTP 200, tasks that take
``generation_s`` seconds and then point at a real, playable vertical mp4 served
here.  The control API under ``/_sandbox/kie/`` changes the configuration,
lists tasks and finishes them on demand; ``/_sandbox/scenario``, ``calls`` and
``reset`` are the shared ones (:mod:`neurocards.sandbox.common`).

Faults (``POST /_sandbox/scenario``, match on ``endpoint`` — generate,
record-info, createTask, recordInfo, upload, download — and ``task_id`` or
``model``):

- ``code`` {code, msg?}: that business code in an HTTP-200 envelope.
- ``http_status`` {status=503, retry_after?, html?, msg?}: a real non-200 answer.
- ``content_policy`` {stage="create"|"task", code=400, msg?}: refused at create, or the task fails.
- ``success_flag`` {flag=3, errorCode=501, errorMessage}: the task fails.
- ``record_null`` {polls=1}: 422 "record is null" for the first polls after create.
- ``never_finishes``, ``callback_twice``, ``no_callback``: how the task and its callback behave.
- ``download_slow`` {delay_s}, ``download_cut``, ``download_wrong_type``, ``download_huge`` {mb=51}.
- ``result_url`` {url}: the finished task points at ``url`` instead of the stand-in's own file.

The account has a balance (``/_sandbox/kie/config`` ``balance``; unlimited by default): each
task takes its model's price (``kie_state.TASK_PRICES``), a create it can't cover is a 402, and
``GET /api/v1/chat/credit`` reads it.

Task faults are drawn when the task is created; download faults when its video is fetched.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from neurocards.sandbox.common import CallLog, Faults, add_control_routes, json_body
from neurocards.sandbox.kie_api import add_api_routes, bearer
from neurocards.sandbox.kie_files import add_file_routes
from neurocards.sandbox.kie_state import KIE, KieConfig, KieSandbox, envelope
from neurocards.sandbox.kie_tasks import Failure, describe
from neurocards.settings import SANDBOX_API_KEY

__all__ = ["create_app", "KIE", "FAULTS", "CALLS", "KNOWN_FAULTS", "KieSandbox"]

KNOWN_FAULTS = frozenset({
    "code", "http_status", "content_policy", "success_flag", "record_null", "never_finishes",
    "callback_twice", "no_callback", "download_slow", "download_cut", "download_wrong_type", "download_huge",
    "result_url",
})  # fmt: skip
#: Large enough for a base64-encoded 10 MB photo and a stream upload above it.
CLIENT_MAX_BYTES = 64 * 1024 * 1024

#: The app's faults and call log (the same objects as ``app[KIE].faults`` / ``.calls``).
FAULTS = web.AppKey("kie_faults", Faults)
CALLS = web.AppKey("kie_calls", CallLog)


def create_app(
    api_keys: tuple[str, ...] = (SANDBOX_API_KEY,),
    generation_s: float = 20.0,
    public_base_url: str | None = None,
    hmac_key: str | None = None,
    rate_limit: bool = True,
    seed: int = 0,
) -> web.Application:
    """The stand-in app; ``public_base_url`` defaults to each request's own origin."""
    faults, calls = Faults(KNOWN_FAULTS, seed=seed), CallLog()
    config = KieConfig(float(generation_s), rate_limit, public_base_url, hmac_key)
    sandbox = KieSandbox(api_keys=api_keys, config=config, faults=faults, calls=calls)
    app = web.Application(middlewares=[gatekeeper], client_max_size=CLIENT_MAX_BYTES)
    app[KIE], app[FAULTS], app[CALLS] = sandbox, faults, calls
    app.cleanup_ctx.append(callback_session)
    add_api_routes(app)
    add_file_routes(app)
    add_kie_control_routes(app)
    add_control_routes(app, faults, calls, reset=sandbox.reset)
    return app


async def callback_session(app: web.Application) -> AsyncIterator[None]:
    """The HTTP session callbacks go out on; pending deliveries are cancelled at shutdown."""
    sandbox = app[KIE]
    sandbox.http = aiohttp.ClientSession()
    yield
    sandbox.cancel_background()
    await sandbox.http.close()
    sandbox.http = None


@web.middleware
async def gatekeeper(request: web.Request, handler) -> web.StreamResponse:
    """Count every API and file call; refuse /api/ calls without a known Bearer key."""
    sandbox = request.app[KIE]
    if request.path.startswith("/_sandbox/"):
        return await handler(request)
    resource = request.match_info.route.resource
    sandbox.calls.record(f"{request.method} {resource.canonical if resource else request.path}")
    if request.path.startswith("/api/") and bearer(request) not in sandbox.api_keys:
        return envelope(401, "You do not have access permissions")
    return await handler(request)


# -- control API ----------------------------------------------------------------------


async def set_config(request: web.Request) -> web.Response:
    """POST /_sandbox/kie/config {generation_s?, rate_limit?, public_base_url?, hmac_key?, balance?}
    (``balance``: the account's credits, each task taking its price; null: never runs out)"""
    config = request.app[KIE].config
    body = await json_body(request) if request.method == "POST" else {}
    try:
        if "generation_s" in body:
            config.generation_s = non_negative(body["generation_s"])
        if "rate_limit" in body:
            config.rate_limit = bool(body["rate_limit"])
        if "public_base_url" in body:
            config.public_base_url = optional_text(body["public_base_url"])
        if "hmac_key" in body:
            config.hmac_key = optional_text(body["hmac_key"])
        if "balance" in body:
            config.balance = None if body["balance"] is None else non_negative(body["balance"])
    except (TypeError, ValueError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(vars(config))


def non_negative(value: Any) -> float:
    if isinstance(value, bool) or float(value) < 0:
        raise ValueError("generation_s must be a number >= 0")
    return float(value)


def optional_text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("expected a string or null")
    return value or None


async def list_tasks(request: web.Request) -> web.Response:
    """GET /_sandbox/kie/tasks: every task with its state, polls and callback deliveries."""
    now_s = time.time()
    return web.json_response({"tasks": [describe(task, now_s) for task in request.app[KIE].tasks.values()]})


async def get_task(request: web.Request) -> web.Response:
    """GET /_sandbox/kie/tasks/{task_id}"""
    task = request.app[KIE].tasks.get(request.match_info["task_id"])
    if task is None:
        return web.json_response({"error": "no such task"}, status=404)
    return web.json_response(describe(task, time.time()))


async def complete_task(request: web.Request) -> web.Response:
    """POST /_sandbox/kie/tasks/{task_id}/complete {fail?, code?, msg?}: finish the task now."""
    task = request.app[KIE].tasks.get(request.match_info["task_id"])
    if task is None:
        return web.json_response({"error": "no such task"}, status=404)
    now_s = time.time()
    if task.state(now_s) != "pending":
        return web.json_response({"error": "task already finished"}, status=409)
    body = await json_body(request) if request.can_read_body else {}
    failure = None
    if body.get("fail"):
        failure = Failure(3, int(body.get("code", 501)), str(body.get("msg", "Generation Failed")))
    task.finish(now_s, failure)
    return web.json_response(describe(task, now_s))


def add_kie_control_routes(app: web.Application) -> None:
    app.router.add_get("/_sandbox/kie/config", set_config)
    app.router.add_post("/_sandbox/kie/config", set_config)
    app.router.add_get("/_sandbox/kie/tasks", list_tasks)
    app.router.add_get("/_sandbox/kie/tasks/{task_id}", get_task)
    app.router.add_post("/_sandbox/kie/tasks/{task_id}/complete", complete_task)
