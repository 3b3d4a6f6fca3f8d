"""``neurocards sandbox``: the three stand-ins together, on the ports in the settings, and the
web chat on the Telegram stand-in, told where the others and the project's database are."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from .server import start_site

__all__ = ["serve_forever", "build_apps", "local_url"]

logger = logging.getLogger("neurocards.sandbox")

#: How long the web chat's job feed waits for SQLite's lock before it tries again later (seconds).
JOB_FEED_BUSY_TIMEOUT_S = 2.0


def local_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a stand-in bound to ``host``."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def build_apps(settings) -> dict[str, tuple[web.Application, int]]:
    """The stand-ins, each accepting the token or key the stack will use."""
    from . import kie, openai, telegram, webchat
    from .webchat_jobs import JobFeed

    sandbox = settings.sandbox
    telegram_app = telegram.create_app(tokens=(settings.telegram_token,))
    webchat.configure(
        telegram_app,
        services={name: local_url(sandbox.host, getattr(sandbox, f"{name}_port")) for name in ("kie", "openai")},
        jobs=JobFeed(settings.database_url, busy_timeout_s=JOB_FEED_BUSY_TIMEOUT_S),
        generation_s=sandbox.generation_s,
    )
    return {
        "telegram": (telegram_app, sandbox.telegram_port),
        "kie": (kie.create_app(api_keys=(settings.kie_api_key,), generation_s=sandbox.generation_s), sandbox.kie_port),
        "openai": (openai.create_app(api_keys=(settings.openai_api_key,)), sandbox.openai_port),
    }


async def serve_forever(settings) -> None:
    runners, ports = [], {}
    try:
        for name, (app, port) in build_apps(settings).items():
            runner, ports[name] = await start_site(app, settings.sandbox.host, port)
            runners.append(runner)
            print(f"sandbox: {name} stand-in on http://{settings.sandbox.host}:{ports[name]}", flush=True)
        # the line to look for in `make run`'s output
        chat_url = local_url(settings.sandbox.host, ports["telegram"])
        print(f"Web chat: {chat_url}/ - open it and send a photo", flush=True)
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()
