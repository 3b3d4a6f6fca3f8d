"""The KIE.AI stand-in's state and its answer envelopes.

One :class:`KieSandbox` lives on the app under :data:`KIE`: its configuration
(changeable through the control API), the tasks and uploaded files, the create
rate window, the faults and the call log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from neurocards.sandbox.common import CallLog, Faults

if TYPE_CHECKING:
    from neurocards.sandbox.kie_tasks import Task

__all__ = ["KIE", "KieConfig", "KieSandbox", "StoredFile", "envelope", "injected_error", "http_status_response"]

#: The real, playable 360x640 H.264 clip every finished task "generates".
SAMPLE_MP4 = Path(__file__).resolve().parent / "assets" / "sample.mp4"
#: The documented create limit: this many new tasks per window per key (§1.8).
CREATE_LIMIT = 20
#: The create limit's sliding window.
CREATE_WINDOW_S = 10.0

#: What each business code says when a fault does not give its own message (§1.2).
CODE_MESSAGES = {
    200: "success",
    400: "Bad Request",
    401: "You do not have access permissions",
    402: "Insufficient Credits",
    404: "Not Found",
    408: "Upstream is currently experiencing service issues. No result has been returned for over 10 minutes.",
    422: "Validation Error",
    429: "Rate limit exceeded",
    433: "Request Limit - Sub-key Usage Exceeds Limit",
    451: "Failed to fetch the image. Kindly verify any access limits set by you or your service provider.",
    455: "Service Unavailable",
    500: "Internal Error, Please try again later",
    501: "Generation Failed",
    505: "Feature Disabled",
}


#: What a task costs in the stand-in, in KIE credits (the real price list changes; these are its order).
TASK_PRICES = {"veo3_fast": 60.0, "veo3": 250.0, "veo3_lite": 30.0}
DEFAULT_TASK_PRICE = 100.0
#: What ``GET /api/v1/chat/credit`` answers for an account that never runs out.
UNLIMITED_BALANCE = 1_000_000


@dataclasses.dataclass
class KieConfig:
    """What the control API can change at run time."""

    generation_s: float
    rate_limit: bool = True
    public_base_url: str | None = None
    hmac_key: str | None = None
    balance: float | None = None  # the account's credits; None: never runs out
    prices: dict[str, float] = dataclasses.field(default_factory=lambda: dict(TASK_PRICES))

    def price(self, model: str) -> float:
        return self.prices.get(model, DEFAULT_TASK_PRICE)

    def charge(self, model: str) -> float | None:
        """Take a task's credits from the balance: its price, or None when the balance can't cover it."""
        price = self.price(model)
        if self.balance is not None:
            if self.balance < price:
                return None
            self.balance -= price
        return price


@dataclasses.dataclass(frozen=True)
class StoredFile:
    data: bytes
    mime_type: str


class KieSandbox:
    """Everything the stand-in remembers between requests."""

    def __init__(self, *, api_keys: Iterable[str], config: KieConfig, faults: Faults, calls: CallLog) -> None:
        self.api_keys = frozenset(api_keys)
        self.config = config
        self._initial = dataclasses.replace(config)
        self.faults = faults
        self.calls = calls
        self.sample = SAMPLE_MP4.read_bytes()
        self.tasks: dict[str, Task] = {}
        self.files: dict[str, StoredFile] = {}
        self.http: aiohttp.ClientSession | None = None
        self._creates: dict[str, deque[float]] = defaultdict(deque)
        self._background: set[asyncio.Task] = set()
        self._market_ids = itertools.count()

    def base_url(self, request: web.Request) -> str:
        """Where clients reach us: the configured public URL, else the request's own origin."""
        return (self.config.public_base_url or str(request.url.origin())).rstrip("/")

    def over_create_limit(self, api_key: str, now_s: float) -> bool:
        """Whether one more create now would exceed 20 per 10 s for this key."""
        window = self._creates[api_key]
        while window and window[0] <= now_s - CREATE_WINDOW_S:
            window.popleft()
        return self.config.rate_limit and len(window) >= CREATE_LIMIT

    def count_create(self, api_key: str, now_s: float) -> None:
        self._creates[api_key].append(now_s)

    def new_task_id(self, api: str, model: str) -> str:
        """``veo_task_<hex>`` or ``task_<model>_<epoch ms>``, shaped like the documented examples."""
        if api == "veo":
            return f"veo_task_{uuid.uuid4().hex[:12]}"
        return f"task_{model.split('/')[0]}_{int(time.time() * 1000)}{next(self._market_ids):03d}"

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a background coroutine (a callback delivery) and keep a reference until it ends."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def cancel_background(self) -> None:
        for task in list(self._background):
            task.cancel()

    def reset(self) -> None:
        """Forget tasks, files and the rate window; restore the configuration the app started with."""
        self.cancel_background()
        self.tasks.clear()
        self.files.clear()
        self._creates.clear()
        self.config = dataclasses.replace(self._initial)


#: The stand-in's state on the aiohttp app.
KIE = web.AppKey("kie", KieSandbox)


def envelope(code: int, msg: str | None = None, data: Any = None, *, status: int = 200) -> web.Response:
    """The ``{code, msg, data}`` answer; business errors travel with HTTP 200, as documented."""
    body = {"code": code, "msg": msg or CODE_MESSAGES.get(code, "Error"), "data": data}
    return web.json_response(body, status=status)


def http_status_response(params: dict[str, Any]) -> web.Response:
    """A real non-200 HTTP answer: a JSON envelope, or an HTML error page with ``html``."""
    status = int(params.get("status", 503))
    headers = {"Retry-After": str(params["retry_after"])} if params.get("retry_after") is not None else {}
    if params.get("html"):
        page = f"<html><body><h1>{status}</h1>upstream error</body></html>"
        return web.Response(status=status, text=page, content_type="text/html", headers=headers)
    response = envelope(status, params.get("msg"), status=status)
    response.headers.update(headers)
    return response


def injected_error(sandbox: KieSandbox, endpoint: str, **context: Any) -> web.Response | None:
    """The ``http_status`` or ``code`` fault answer for this request, if one fires."""
    params = sandbox.faults.take("http_status", endpoint=endpoint, **context)
    if params is not None:
        return http_status_response(params)
    params = sandbox.faults.take("code", endpoint=endpoint, **context)
    if params is not None:
        return envelope(int(params.get("code", 500)), params.get("msg"))
    return None
