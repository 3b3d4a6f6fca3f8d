"""A local Telegram Bot API that aiogram's real ``Bot`` cannot tell from Telegram.

Point aiogram at it with ``AiohttpSession(api=TelegramAPIServer.from_base(url))``.  Every call
to ``/bot<token>/<method>`` goes through the same steps as at Telegram: the token (401), the
method (404), the body (413 over the upload limit), injected faults, the parameters against the
Bot API's method table (400), flood control (429), then the method itself, which answers with
Telegram's own error wording.  ``/file/bot<token>/<file_path>`` serves files as getFile names
them.  The control API (``telegram_control``) acts as the seller and shows the transcript, and
``GET /`` is the web chat (``webchat``), where a person does the same in a browser.

Faults (``POST /_sandbox/scenario``), matchable by ``{"method": ..., "chat_id": ...}`` (file
downloads are method ``"file"``): ``retry_after`` (params ``retry_after``), ``server_error``,
``bad_gateway`` (a 502 that is not JSON), ``entity_too_large``, ``forbidden`` and ``bad_request``
(params ``description``), ``network_drop`` (the connection closes with no answer) and ``slow``
(params ``delay_s``, then the call proceeds).  ``duplicate_payment`` (matchable by ``chat_id``)
delivers a successful_payment twice (``telegram_payments_checkout``).

Stars payments (``telegram_payments``): the bot sends an invoice, a user pays it through the
control API, and the bot has ``pre_checkout_timeout_s`` to answer the pre_checkout_query.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from aiohttp import web

from ..settings import SANDBOX_BOT_TOKEN
from . import telegram_messages, telegram_payments, telegram_profile, telegram_subscriptions, telegram_updates
from .common import CallLog, Faults, add_control_routes
from .telegram_call import Call, read_params
from .telegram_control import add_telegram_control_routes
from .telegram_flood import Limits
from .telegram_spec import BadCall, canonical_name, check_params
from .telegram_state import TELEGRAM_STATE, BotState, TelegramState
from .webchat import add_webchat

__all__ = ["create_app", "TELEGRAM_STATE", "TELEGRAM_FAULTS", "TelegramState"]

#: Faults the control API can inject.
TELEGRAM_FAULTS = frozenset({
    "retry_after", "server_error", "bad_gateway", "entity_too_large", "forbidden", "bad_request", "network_drop",
    "slow", "duplicate_payment",
})  # fmt: skip
#: Methods flood control counts: sending and editing messages (not getUpdates, getFile, answers).
FLOOD_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendVideo", "sendDocument", "editMessageText", "editMessageCaption",
    "editMessageReplyMarkup", "sendInvoice",
})  # fmt: skip
Method = Callable[[Call], Awaitable[Any]]

#: The methods the stand-in implements; any other Bot API method is a 400 that says so.
HANDLERS: dict[str, Method] = {
    **telegram_updates.METHODS, **telegram_profile.METHODS, **telegram_messages.METHODS, **telegram_payments.METHODS,
    **telegram_subscriptions.METHODS,
}  # fmt: skip
#: What Telegram's front end answers when the Bot API behind it is down: nginx's page, not JSON.
BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)


class _Dropped(Exception):
    """The connection was closed on purpose (the network_drop fault): nothing to answer."""


def create_app(tokens: Iterable[str] = (SANDBOX_BOT_TOKEN,), *, flood: bool = True, upload_limit_mb: float = 50,
               download_limit_mb: float = 20, per_chat_burst: int = 3, per_chat_rate: float = 1.0,
               global_burst: int = 30, global_rate: float = 30.0, callback_timeout_s: float = 15.0,
               pre_checkout_timeout_s: float = 10.0, seed: int = 0) -> web.Application:  # fmt: skip
    """The stand-in for the bots with ``tokens``, enforcing Telegram's limits as given."""
    limits = Limits(flood=flood, per_chat_burst=per_chat_burst, per_chat_rate=per_chat_rate,
                    global_burst=global_burst, global_rate=global_rate, upload_limit_mb=upload_limit_mb,
                    download_limit_mb=download_limit_mb, callback_timeout_s=callback_timeout_s,
                    pre_checkout_timeout_s=pre_checkout_timeout_s)  # fmt: skip
    faults, calls = Faults(TELEGRAM_FAULTS, seed=seed), CallLog()
    state = TelegramState(tokens, limits, faults, calls)
    app = web.Application()
    app[TELEGRAM_STATE] = state
    app.router.add_route("*", "/bot{token}/{method}", api_call)
    app.router.add_get("/file/bot{token}/{path:.+}", download_file)
    add_control_routes(app, faults, calls, reset=state.reset)
    add_telegram_control_routes(app)
    add_webchat(app)
    app.cleanup_ctx.append(_webhook_session)
    app.on_shutdown.append(_end_waits)
    return app


async def api_call(request: web.Request) -> web.StreamResponse:
    """One Bot API call, answered ``{"ok": true, "result": ...}`` or as Telegram reports errors."""
    state = request.app[TELEGRAM_STATE]
    try:
        bot = _bot(state, request)
        method = canonical_name(request.match_info["method"])
        state.calls.record(method)
        params, uploads = await read_params(request, state.limits.upload_limit_bytes)
        call = Call(state, bot, method, params, uploads)
        fault = await _fault(request, state, method, params.get("chat_id"))
        if fault is not None:
            return fault
        check_params(method, call.named_params)
        _take_flood_token(call)
        result = await _handler(method)(call)
    except BadCall as exc:
        return _error(exc)
    except _Dropped:
        return web.Response()  # never written: the transport is closed
    return web.json_response({"ok": True, "result": result})


async def download_file(request: web.Request) -> web.StreamResponse:
    """A file by the file_path getFile gave (the ``/file/bot<token>/`` URL aiogram downloads)."""
    state = request.app[TELEGRAM_STATE]
    try:
        _bot(state, request)
        state.calls.record("file")
        fault = await _fault(request, state, "file", None)
        if fault is not None:
            return fault
        stored = state.files.at(request.match_info["path"])
        if stored is None:
            raise BadCall(404, "Not Found: file not found")
    except BadCall as exc:
        return _error(exc)
    except _Dropped:
        return web.Response()
    return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


def _bot(state: TelegramState, request: web.Request) -> BotState:
    bot = state.bots.get(request.match_info["token"])
    if bot is None:
        raise BadCall(401, "Unauthorized")
    return bot


def _handler(method: str) -> Method:
    try:
        return HANDLERS[method]
    except KeyError:
        raise BadCall(400, f"Bad Request: the Neurocards sandbox does not implement {method}") from None


def _take_flood_token(call: Call) -> None:
    if call.method not in FLOOD_METHODS:
        return
    retry_after = call.state.flood.take(call.bot.token, str(call.params.get("chat_id")))
    if retry_after is not None:
        raise BadCall(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


async def _fault(request: web.Request, state: TelegramState, method: str, chat_id: Any) -> web.Response | None:
    """Apply a fault injected for this call: a delay, a dropped connection or an error answer."""
    faults, context = state.faults, {"method": method, "chat_id": chat_id}
    slow = faults.take("slow", **context)
    if slow is not None:
        with contextlib.suppress(TimeoutError):  # the delay, cut short only by shutdown
            await asyncio.wait_for(state.closing.wait(), float(slow.get("delay_s", 1.0)))
    if faults.active("network_drop", **context):
        request.transport.close()
        raise _Dropped
    if faults.active("bad_gateway", **context):
        return web.Response(status=502, text=BAD_GATEWAY_PAGE, content_type="text/html")
    retry = faults.take("retry_after", **context)
    if retry is not None:
        seconds = int(retry.get("retry_after", 1))
        raise BadCall(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
    if faults.active("server_error", **context):
        raise BadCall(500, "Internal Server Error")
    if faults.active("entity_too_large", **context):
        raise BadCall(413, "Request Entity Too Large")
    forbidden = faults.take("forbidden", **context)
    if forbidden is not None:
        raise BadCall(403, forbidden.get("description", "Forbidden: bot was blocked by the user"))
    bad_request = faults.take("bad_request", **context)
    if bad_request is not None:
        raise BadCall(400, bad_request.get("description", "Bad Request: injected by the sandbox"))
    return None


def _error(exc: BadCall) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.status)


async def _webhook_session(app: web.Application) -> AsyncIterator[None]:
    """The client session webhooks are posted with, open while the app runs."""
    async with aiohttp.ClientSession() as session:
        app[TELEGRAM_STATE].http = session
        yield


async def _end_waits(app: web.Application) -> None:
    """On shutdown, stop webhooks and let long polls return now rather than at their timeout."""
    app[TELEGRAM_STATE].shutdown()
