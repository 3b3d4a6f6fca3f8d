"""The web chat: a page on the Telegram stand-in (``GET /``) where a person talks to the bot as
a seller, with an operator panel beside it that switches the stand-ins' faults and shows each
job's state as it moves (DESIGN §15).

The page is plain HTML, CSS and JavaScript (``webchat_static/``, no build step).  It acts
through the stand-in's own control API, as the tests do (``/_sandbox/telegram/users/<id>/send``,
``…/press``, ``/_sandbox/telegram/pay``), and reads through the routes here:

- ``GET /_sandbox/webchat/info``: the bot, the sample photos, whether job states are shown;
- ``GET /_sandbox/webchat/sellers``: the users who wrote to the bot, latest first;
- ``GET /_sandbox/webchat/commands?chat_id=&language=``: the bot's command menu for that chat;
- ``GET /_sandbox/webchat/chats/{chat_id}/stream``: the chat, live (``webchat_stream``);
- ``GET /_sandbox/webchat/files/{file_id}``: a file either side sent, in byte ranges for <video>;
- ``GET /_sandbox/webchat/samples/{name}``: the sample product photos;
- ``GET|POST|DELETE /_sandbox/webchat/faults``: the fault toggles (``webchat_faults``);
- ``GET /_sandbox/webchat/jobs?user_id=``: recent jobs (``webchat_jobs``), once a database is given.

What lies beyond this stand-in (the other stand-ins' URLs, the project's database) is given
after the app is made, with :func:`configure`: ``neurocards sandbox`` does it from the settings,
a test with its stack's, so ``telegram.create_app`` needs no settings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from .telegram_media import ASSETS
from .telegram_state import TELEGRAM_STATE
from .webchat_faults import SLOW_GENERATION_S, FaultBoard
from .webchat_files import ranged_response
from .webchat_stream import Changes, stream_chat

if TYPE_CHECKING:  # the feed reads the database: loaded only by whoever makes one
    from .webchat_jobs import JobFeed

__all__ = ["WebChat", "WEBCHAT", "add_webchat", "configure", "SAMPLES", "STATIC"]

#: The page's files.
STATIC = Path(__file__).with_name("webchat_static")
#: Sample product photos a seller can send with one tap: file in assets/, label, a caption to start from.
SAMPLES = (
    ("product.jpg", "Bottle", "Glass water bottle, 750 ml, navy blue"),
    ("product-mug.jpg", "Mug", "Ceramic mug, 350 ml, matte white"),
    ("product-candle.jpg", "Candle", "Soy candle in a glass jar, 40 hours"),
)
PREFIX = "/_sandbox/webchat"


@dataclasses.dataclass(eq=False)
class WebChat:
    """What the web chat knows beyond the Telegram stand-in, and its wake-up call for streams.

    ``services``: base URLs of the KIE and OpenAI stand-ins (their faults are on the panel);
    ``jobs``: the feed of job states (None: the panel says it has no database);
    ``normal_generation_s``: what KIE tasks take when "slow generation" is off.
    """

    services: dict[str, str] = dataclasses.field(default_factory=dict)
    jobs: JobFeed | None = None
    normal_generation_s: float = 20.0
    changes: Changes = dataclasses.field(default_factory=Changes)
    http: aiohttp.ClientSession | None = None


WEBCHAT = web.AppKey("webchat", WebChat)


def configure(app: web.Application, *, services: dict[str, str] | None = None, jobs: JobFeed | None = None,
              generation_s: float | None = None) -> WebChat:  # fmt: skip
    """Tell the web chat on the Telegram stand-in ``app`` where the other stand-ins are, which
    job feed to show and KIE's usual generation time.  Safe while the app runs; a job feed
    replaced is closed, and the last one is closed with the app."""
    webchat = app[WEBCHAT]
    if services is not None:
        webchat.services = {name: url.rstrip("/") for name, url in services.items()}
    if jobs is not None:
        previous, webchat.jobs = webchat.jobs, jobs
        if previous is not None and previous is not jobs:
            previous.close()
    if generation_s is not None:
        webchat.normal_generation_s = float(generation_s)
    return webchat


def add_webchat(app: web.Application) -> None:
    """Serve the web chat from the Telegram stand-in ``app`` (called by ``telegram.create_app``)."""
    app[WEBCHAT] = WebChat()
    app.middlewares.append(_after_each_request)
    app.cleanup_ctx.append(_http_session)
    app.on_shutdown.append(_end_streams)
    router = app.router
    router.add_get("/", index)
    router.add_static("/webchat/", STATIC)
    router.add_get(f"{PREFIX}/info", info)
    router.add_get(f"{PREFIX}/sellers", sellers)
    router.add_get(f"{PREFIX}/commands", commands)
    router.add_get(f"{PREFIX}/chats/{{chat_id}}/stream", stream)
    router.add_get(f"{PREFIX}/files/{{file_id}}", file)
    router.add_get(f"{PREFIX}/samples/{{name}}", sample)
    router.add_route("GET", f"{PREFIX}/faults", faults)
    router.add_route("POST", f"{PREFIX}/faults", faults)
    router.add_route("DELETE", f"{PREFIX}/faults", faults)
    router.add_get(f"{PREFIX}/jobs", jobs)


@web.middleware
async def _after_each_request(request: web.Request, handler) -> web.StreamResponse:
    """Wake the chat streams after a request that may have changed a chat (every change happens
    in one: the bot's calls, the control API's), and keep browsers from caching the page."""
    page = request.path == "/" or request.path.startswith("/webchat/")
    try:
        response = await handler(request)
    finally:
        if not page and not request.path.startswith(f"{PREFIX}/"):
            request.app[WEBCHAT].changes.notify()
    if page:
        response.headers["Cache-Control"] = "no-cache"
    return response


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    """The session the fault toggles reach the other stand-ins with; the job feed ends with the app."""
    webchat = app[WEBCHAT]
    async with aiohttp.ClientSession() as webchat.http:
        yield
    if webchat.jobs is not None:
        webchat.jobs.close()


async def _end_streams(app: web.Application) -> None:
    app[WEBCHAT].changes.close()


def _int(request: web.Request, name: str, *, source: str = "match") -> int | None:
    raw = request.match_info.get(name) if source == "match" else request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer") from None


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def info(request: web.Request) -> web.Response:
    webchat = request.app[WEBCHAT]
    samples = [{"name": name, "label": label, "caption": caption, "url": f"{PREFIX}/samples/{name}"}
               for name, label, caption in SAMPLES]  # fmt: skip
    services = ["telegram", *webchat.services]
    bot = request.app[TELEGRAM_STATE].default_bot.me
    return web.json_response({"bot": bot, "samples": samples, "jobs": webchat.jobs is not None, "services": services})


async def sellers(request: web.Request) -> web.Response:
    chats = sorted(request.app[TELEGRAM_STATE].default_bot.chats.values(),
                   key=lambda chat: chat.events[-1]["seq"] if chat.events else 0, reverse=True)  # fmt: skip
    fields = ("id", "first_name", "last_name", "username", "language_code")
    return web.json_response({"sellers": [{key: chat.user[key] for key in fields if key in chat.user}
                                          for chat in chats]})  # fmt: skip


async def commands(request: web.Request) -> web.Response:
    """The menu Telegram shows in a private chat: the narrowest scope the bot set, in the
    user's language if the bot set one for it (setMyCommands' documented order)."""
    menus = request.app[TELEGRAM_STATE].default_bot.commands
    chat_id, language = _int(request, "chat_id", source="query"), request.query.get("language", "")
    scopes = [{"type": "chat", "chat_id": chat_id}] if chat_id is not None else []
    scopes += [{"type": "all_private_chats"}, {"type": "default"}]
    for scope in scopes:
        for code in (language, ""):
            menu = menus.get(json.dumps(scope, sort_keys=True) + "|" + code)
            if menu:
                return web.json_response({"commands": menu})
    return web.json_response({"commands": []})


async def stream(request: web.Request) -> web.StreamResponse:
    chat_id = _int(request, "chat_id")
    state = request.app[TELEGRAM_STATE]
    return await stream_chat(request, state.default_bot, request.app[WEBCHAT].changes, chat_id)


async def file(request: web.Request) -> web.StreamResponse:
    stored = request.app[TELEGRAM_STATE].files.get(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound(text="no such file_id")
    return ranged_response(request, stored.data, stored.mime_type or "application/octet-stream")


async def sample(request: web.Request) -> web.FileResponse:
    names = {name for name, _, _ in SAMPLES}
    if request.match_info["name"] not in names:
        raise web.HTTPNotFound(text="no such sample")
    return web.FileResponse(ASSETS / request.match_info["name"])


async def faults(request: web.Request) -> web.Response:
    """GET: the toggles; POST ``{"preset", "on"}``: flip one; DELETE: every fault off."""
    webchat = request.app[WEBCHAT]
    board = FaultBoard(request.app[TELEGRAM_STATE].faults, webchat.services, webchat.http)
    try:
        if request.method == "POST":
            body = await request.json()
            on = bool(body.get("on"))
            if body.get("preset") == "kie_slow" and on:
                current = await board.generation_s()
                if current is not None and current != SLOW_GENERATION_S:
                    webchat.normal_generation_s = current
            await board.switch(str(body.get("preset")), on, webchat.normal_generation_s)
        elif request.method == "DELETE":
            await board.clear_all(webchat.normal_generation_s)
        return web.json_response(await board.view())
    except ValueError as exc:  # no such preset, a stand-in not configured, a body not JSON
        return web.json_response({"error": str(exc)}, status=400)
    except aiohttp.ClientError as exc:
        return web.json_response({"error": f"a stand-in did not answer: {exc}"}, status=502)


async def jobs(request: web.Request) -> web.Response:
    feed = request.app[WEBCHAT].jobs
    if feed is None:
        return web.json_response({"enabled": False, "jobs": [], "balance": None})
    return web.json_response({"enabled": True, **await feed.recent(user_id=_int(request, "user_id", source="query"))})
