"""Generation tasks in the KIE.AI stand-in: their clock, their records, their callbacks.

A task's state is computed from its creation time on every read (no background
loop); the only background work is one coroutine per task with a callback URL,
which waits for the task to finish and POSTs the documented callback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Literal

import aiohttp

if TYPE_CHECKING:
    from neurocards.sandbox.kie_state import KieSandbox

__all__ = ["Failure", "Task", "veo_record", "market_record", "callback_payload", "describe", "deliver_callbacks"]

logger = logging.getLogger(__name__)

#: How long KIE waits for a callback receiver to answer (§1.3).
CALLBACK_TIMEOUT_S = 15.0
#: The message of a successful Veo callback (§1.3).
VEO_CALLBACK_OK = "Veo3.1 video generated successfully."

TaskState = Literal["pending", "success", "failed"]


@dataclasses.dataclass(frozen=True)
class Failure:
    """How a task ends badly: Veo ``successFlag`` (2 before completion, 3 generation failed), code, message."""

    flag: int
    code: int
    message: str


@dataclasses.dataclass
class Task:
    """One generation task, Veo or market, as the stand-in tracks it."""

    task_id: str
    api: Literal["veo", "market"]
    model: str
    request: dict[str, Any]
    callback_url: str | None
    result_url: str
    created_s: float
    done_s: float | None  # None: never finishes until completed through the control API
    failure: Failure | None = None
    record_null_polls: int = 0
    callback_times: int = 1
    polls: int = 0
    credits: float = 0.0  # what the account was charged for it
    deliveries: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    finished: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def state(self, now_s: float) -> TaskState:
        if self.done_s is None or now_s < self.done_s:
            return "pending"
        return "failed" if self.failure else "success"

    def finish(self, now_s: float, failure: Failure | None = None) -> None:
        """End the task now (control API), optionally with a failure."""
        self.done_s = now_s
        self.failure = failure or self.failure
        self.finished.set()

    async def wait_finished(self) -> None:
        """Return when the task ends: on its own clock, or earlier when finished by hand."""
        while self.done_s is None or time.time() < self.done_s:
            timeout_s = None if self.done_s is None else self.done_s - time.time()
            self.finished.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.finished.wait(), timeout_s)

    @property
    def aspect_ratio(self) -> str:
        if self.api == "market":
            return str(self.request["input"].get("aspect_ratio", "16:9"))
        return str(self.request.get("aspect_ratio") or self.request.get("aspectRatio") or "16:9")


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def veo_record(task: Task, now_s: float) -> dict[str, Any]:
    """``data`` of GET /api/v1/veo/record-info (§1.3)."""
    state = task.state(now_s)
    failure = task.failure if state == "failed" else None
    return {
        "taskId": task.task_id,
        "paramJson": json.dumps(task.request),
        "createTime": _ms(task.created_s),
        "completeTime": _ms(task.done_s) if state != "pending" else None,
        "response": veo_response(task) if state == "success" else None,
        "successFlag": {"pending": 0, "success": 1}.get(state, failure.flag if failure else 0),
        "errorCode": failure.code if failure else None,
        "errorMessage": failure.message if failure else None,
        "fallbackFlag": False,
    }


def veo_response(task: Task) -> dict[str, Any]:
    """The result block; ``originUrls`` is only filled when the ratio is not 16:9."""
    return {
        "taskId": task.task_id,
        "resultUrls": [task.result_url],
        "fullResultUrls": [task.result_url],
        "originUrls": [task.result_url] if task.aspect_ratio != "16:9" else None,
        "resolution": task.request.get("resolution", "720p"),
    }


def market_state(task: Task, now_s: float) -> str:
    """waiting, queuing, generating (by the share of time passed), success or fail."""
    state = task.state(now_s)
    if state != "pending":
        return "success" if state == "success" else "fail"
    share = 0.5 if task.done_s is None else (now_s - task.created_s) / max(task.done_s - task.created_s, 1e-9)
    return "waiting" if share < 0.1 else "queuing" if share < 0.2 else "generating"


def market_record(task: Task, now_s: float) -> dict[str, Any]:
    """``data`` of GET /api/v1/jobs/recordInfo (§1.4); ``resultJson`` is a JSON string."""
    state = market_state(task, now_s)
    done = state in ("success", "fail")
    record = {
        "taskId": task.task_id,
        "model": task.model,
        "state": state,
        "param": json.dumps(task.request),
        "resultJson": json.dumps({"resultUrls": [task.result_url]}) if state == "success" else None,
        "failCode": str(task.failure.code) if state == "fail" and task.failure else "",
        "failMsg": task.failure.message if state == "fail" and task.failure else "",
        "costTime": _ms(task.done_s - task.created_s) if done and task.done_s else None,
        "createTime": _ms(task.created_s),
        "completeTime": _ms(task.done_s) if done else None,
        "updateTime": _ms(min(now_s, task.done_s or now_s)),
    }
    if state == "success":
        record["consumeCredits"] = task.credits  # (UNCONFIRMED in §1.4: sent here so the figure is read)
    if task.model.startswith("sora"):
        record["progress"] = 100 if done else 50
    return record


def callback_payload(task: Task, now_s: float) -> dict[str, Any]:
    """The callback body: Veo's own shapes (§1.3), or the recordInfo shape for the market."""
    if task.api == "market":
        return {"code": 200, "msg": "success", "data": market_record(task, now_s)}
    if task.failure:
        return {"code": task.failure.code, "msg": task.failure.message, "data": {"taskId": task.task_id}}
    response = veo_response(task)
    info = {key: response[key] for key in ("resultUrls", "originUrls", "resolution")}
    return {"code": 200, "msg": VEO_CALLBACK_OK, "data": {"taskId": task.task_id, "info": info, "fallbackFlag": False}}


def describe(task: Task, now_s: float) -> dict[str, Any]:
    """The control API's view of a task: its request, state, polls and callback deliveries."""
    failed = task.state(now_s) == "failed"
    return {
        "task_id": task.task_id,
        "api": task.api,
        "model": task.model,
        "state": task.state(now_s),
        "request": task.request,
        "callback_url": task.callback_url,
        "result_url": task.result_url,
        "created_ms": _ms(task.created_s),
        "done_ms": _ms(task.done_s),
        "polls": task.polls,
        "callbacks_planned": task.callback_times if task.callback_url else 0,
        "deliveries": task.deliveries,
        "fail_code": task.failure.code if failed and task.failure else None,
        "fail_message": task.failure.message if failed and task.failure else None,
    }


def signature(task_id: str, timestamp: str, hmac_key: str) -> str:
    """``X-Webhook-Signature``: base64(HMAC-SHA256(taskId + "." + timestamp, key)) (§1.7)."""
    digest = hmac.new(hmac_key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


async def deliver_callbacks(sandbox: KieSandbox, task: Task) -> None:
    """Wait for the task to end, then POST its callback (twice with ``callback_twice``)."""
    await task.wait_finished()
    for _ in range(task.callback_times):
        await post_callback(sandbox, task)


async def post_callback(sandbox: KieSandbox, task: Task) -> None:
    """One delivery, signed when an HMAC key is set; the outcome is kept on the task."""
    if sandbox.http is None or not task.callback_url:
        return
    headers = {}
    if sandbox.config.hmac_key:
        timestamp = str(int(time.time()))
        headers = {
            "X-Webhook-Timestamp": timestamp,
            "X-Webhook-Signature": signature(task.task_id, timestamp, sandbox.config.hmac_key),
        }
    delivery: dict[str, Any] = {"at_ms": _ms(time.time()), "status": None, "error": None}
    try:
        timeout = aiohttp.ClientTimeout(total=CALLBACK_TIMEOUT_S)
        payload = callback_payload(task, time.time())
        async with sandbox.http.post(task.callback_url, json=payload, headers=headers, timeout=timeout) as answer:
            delivery["status"] = answer.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        delivery["error"] = f"{type(exc).__name__}: {exc}"
        logger.info("KIE sandbox callback for %s failed: %s", task.task_id, delivery["error"])
    task.deliveries.append(delivery)
