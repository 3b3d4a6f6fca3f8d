"""The Telegram stand-in's control API under ``/_sandbox/telegram/``: act as a seller (pay an
invoice too), read a chat's transcript, the files the bot sent and its Stars, change Telegram's
limits, register bot tokens.

Every route acts on the first registered bot unless ``?token=`` names another.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .common import json_body
from .telegram_payments_checkout import pay, stars_view
from .telegram_state import TELEGRAM_STATE, BotState, TelegramState
from .telegram_subscriptions import cancel_by_user, pay_link, renew
from .telegram_users import ControlError, press_button, send_message, set_blocked

__all__ = ["add_telegram_control_routes", "PREFIX"]

PREFIX = "/_sandbox/telegram"

Handler = Callable[[web.Request, TelegramState, BotState], Awaitable[Any]]


def _control(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Resolve the bot, run ``handler``, answer JSON (a response it returns goes out as is)."""

    @functools.wraps(handler)
    async def route(request: web.Request) -> web.StreamResponse:
        state = request.app[TELEGRAM_STATE]
        try:
            token = request.query.get("token")
            if token is not None and token not in state.bots:
                raise ControlError(404, "no bot with that token; register it with POST tokens")
            result = await handler(request, state, state.bots[token] if token else state.default_bot)
        except ControlError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        return result if isinstance(result, web.StreamResponse) else web.json_response(result)

    return route


def _id(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ControlError(400, f"{name} must be an integer") from None


@_control
async def user_sends(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    return await send_message(state, bot, _id(request, "user_id"), await json_body(request))


@_control
async def user_presses(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    return press_button(state, bot, _id(request, "user_id"), await json_body(request))


@_control
async def user_blocks(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    return set_blocked(state, bot, _id(request, "user_id"), True)


@_control
async def user_unblocks(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    return set_blocked(state, bot, _id(request, "user_id"), False)


@_control
async def raw_update(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    """``{"kind", "payload"}``: an update of any type, as the outside world might send one
    (edited messages, channel posts, inline queries, messages from other bots...)."""
    body = await json_body(request)
    if not isinstance(body.get("kind"), str) or not isinstance(body.get("payload"), dict):
        raise ControlError(400, "an update needs a string kind and an object payload")
    return {"update_id": bot.updates.push(body["kind"], body["payload"])}


@_control
async def user_pays(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    """``{"user_id" or "chat_id", "message_id"}`` of an invoice; answers once the payment is decided."""
    return await pay(state, bot, await json_body(request))


@_control
async def user_pays_link(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    """``{"user_id", "link"}``: the user pays an invoice link (a subscription's first period too)."""
    return await pay_link(state, bot, await json_body(request))


@_control
async def subscription_renews(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    """``{"user_id", "charge_id", "fail"?}``: the subscription's next period falls due."""
    return await renew(state, bot, await json_body(request))


@_control
async def user_cancels_subscription(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    """``{"user_id", "charge_id"}``: the user cancels in Telegram (the bot is not told)."""
    return await cancel_by_user(state, bot, await json_body(request))


@_control
async def stars(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    return stars_view(bot)


@_control
async def transcript(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    chat = bot.chats.get(_id(request, "chat_id"))
    if chat is None:
        raise ControlError(404, "no such chat: the user never wrote to the bot")
    return chat.transcript()


@_control
async def file_bytes(request: web.Request, state: TelegramState, bot: BotState) -> web.Response:
    stored = state.files.get(request.match_info["file_id"])
    if stored is None:
        raise ControlError(404, "no such file_id")
    return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


@_control
async def limits(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    if request.method == "POST":
        try:
            state.limits.update(await json_body(request))
        except (TypeError, ValueError) as exc:
            raise ControlError(400, str(exc)) from None
    return dataclasses.asdict(state.limits)


@_control
async def register_token(request: web.Request, state: TelegramState, bot: BotState) -> dict[str, Any]:
    try:
        added = state.add_bot(str((await json_body(request)).get("token", "")))
    except ValueError as exc:
        raise ControlError(400, str(exc)) from None
    return {"ok": True, "bot": added.me}


def add_telegram_control_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(f"{PREFIX}/users/{{user_id}}/send", user_sends)
    router.add_post(f"{PREFIX}/users/{{user_id}}/press", user_presses)
    router.add_post(f"{PREFIX}/users/{{user_id}}/block", user_blocks)
    router.add_post(f"{PREFIX}/users/{{user_id}}/unblock", user_unblocks)
    router.add_post(f"{PREFIX}/updates", raw_update)
    router.add_post(f"{PREFIX}/pay", user_pays)
    router.add_post("/_sandbox/pay", user_pays)  # the same, beside /_sandbox/scenario and /_sandbox/reset
    router.add_post(f"{PREFIX}/pay_link", user_pays_link)
    router.add_post(f"{PREFIX}/subscriptions/renew", subscription_renews)
    router.add_post(f"{PREFIX}/subscriptions/cancel", user_cancels_subscription)
    router.add_get(f"{PREFIX}/stars", stars)
    router.add_get(f"{PREFIX}/chats/{{chat_id}}/transcript", transcript)
    router.add_get(f"{PREFIX}/files/{{file_id}}", file_bytes)
    router.add_route("GET", f"{PREFIX}/limits", limits)
    router.add_route("POST", f"{PREFIX}/limits", limits)
    router.add_post(f"{PREFIX}/tokens", register_token)
