"""``neurocards sandbox``: the three stand-ins together, on the ports in the settings."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from .server import start_site

__all__ = ["serve_forever", "build_apps"]

logger = logging.getLogger("neurocards.sandbox")


def build_apps(settings) -> dict[str, tuple[web.Application, int]]:
    """The stand-ins, each accepting the token or key the stack will use."""
    from . import kie, openai, telegram

    sandbox = settings.sandbox
    return {
        "telegram": (telegram.create_app(tokens=(settings.telegram_token,)), sandbox.telegram_port),
        "kie": (kie.create_app(api_keys=(settings.kie_api_key,), generation_s=sandbox.generation_s), sandbox.kie_port),
        "openai": (openai.create_app(api_keys=(settings.openai_api_key,)), sandbox.openai_port),
    }


async def serve_forever(settings) -> None:
    runners = []
    try:
        for name, (app, port) in build_apps(settings).items():
            runner, bound = await start_site(app, settings.sandbox.host, port)
            runners.append(runner)
            print(f"sandbox: {name} stand-in on http://{settings.sandbox.host}:{bound}", flush=True)
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()
