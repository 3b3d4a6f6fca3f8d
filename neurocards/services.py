"""The per-process clients the actors use, built once from the settings."""

from __future__ import annotations

import functools

from .settings import get_settings

__all__ = ["kie_client", "prompt_writer", "telegram_bot", "storage", "redis_client"]


@functools.cache
def kie_client():
    from .clients.kie import KieClient

    settings = get_settings()
    return KieClient(
        base_url=settings.kie_base_url,
        upload_url=settings.kie_upload_url,
        api_key=settings.kie_api_key,
        timeout_s=settings.kie.timeout_s,
    )


@functools.cache
def prompt_writer():
    from .clients.prompt_writer import PromptWriter

    settings = get_settings()
    return PromptWriter(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        model=settings.openai.model,
        timeout_s=settings.openai.timeout_s,
        max_info_chars=settings.telegram.max_product_info_chars,
    )


_bots: dict = {}


def telegram_bot():
    """The worker's aiogram ``Bot``; one per event loop (call it from a coroutine)."""
    import asyncio

    from .clients.telegram import create_bot

    loop = asyncio.get_running_loop()
    bot = _bots.get(loop)
    if bot is None:
        bot = _bots[loop] = create_bot(get_settings())
    return bot


@functools.cache
def redis_client():
    import redis

    return redis.Redis.from_url(get_settings().redis_url)


@functools.cache
def storage():
    from .storage import Storage

    settings = get_settings()
    return Storage(settings.storage_dir, max_video_bytes=settings.storage.max_video_mb * 1024 * 1024)
