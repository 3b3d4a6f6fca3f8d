"""One context per process: what an entry point builds once at start and hands
to the code it runs (DESIGN §16).

``bot.py``, the worker's ``actors`` package, the CLI and the tests build a
:class:`Context` from their settings; library modules take what they need from
it and build nothing on import.  Service clients are made on first use, so a
process that never calls KIE opens no KIE client.
"""

from __future__ import annotations

import asyncio
import functools

from . import dispatch
from .broker import build_broker
from .db import close_database, init_database
from .limits.budgets import Budgets
from .redis_clients import reconnecting_client
from .settings import Settings

__all__ = ["Context"]


class Context:
    """Settings, database, Redis, broker, budgets and service clients of one process."""

    def __init__(self, settings: Settings, *, broker_middleware: list | None = None) -> None:
        self.settings = settings
        self.database = init_database(settings.database_url, busy_timeout_s=settings.database.busy_timeout_s)
        self.redis = reconnecting_client(settings.redis_url)  # a Redis restart is not an error
        self.budgets = Budgets.from_settings(settings, self.redis)
        self.broker = build_broker(
            settings.redis_url,
            heartbeat_timeout_s=settings.worker.heartbeat_timeout_s,
            maintenance_chance=settings.worker.maintenance_chance,
            middleware=broker_middleware if broker_middleware is not None else [],
        )
        self._bots: dict = {}

    # -- pipeline messages ----------------------------------------------------

    def send(self, actor: dispatch.ActorName, *args, delay_s: float | None = None) -> None:
        """Send a pipeline message by actor name (see :mod:`neurocards.dispatch`)."""
        delay_ms = None if delay_s is None else max(1, int(delay_s * 1000))
        dispatch.send(self.broker, actor, *args, delay_ms=delay_ms)

    # -- service clients, made on first use -----------------------------------

    @functools.cached_property
    def kie(self):
        from .clients.kie import KieClient

        settings = self.settings
        return KieClient(
            base_url=settings.kie_base_url,
            upload_url=settings.kie_upload_url,
            api_key=settings.kie_api_key,
            timeout_s=settings.kie.timeout_s,
        )

    @functools.cached_property
    def kie_keys(self):
        """KIE's key pool: a client and budgets per key, parked keys skipped (:mod:`neurocards.limits.kie_keys`)."""
        from .limits.kie_keys import KieKeys

        return KieKeys.from_settings(self.settings, self.budgets, self.redis)

    @functools.cached_property
    def prompt_writer(self):
        from .clients.prompt_writer import PromptWriter

        settings = self.settings
        return PromptWriter(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            model=settings.openai.model,
            timeout_s=settings.openai.timeout_s,
            max_info_chars=settings.telegram.max_product_info_chars,
        )

    @functools.cached_property
    def idea_writer(self):
        """"Suggest ideas": three concepts from the prompt model (:mod:`neurocards.clients.ideas`)."""
        from .clients.ideas import IdeaWriter

        settings = self.settings
        return IdeaWriter(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                          model=settings.openai.model, timeout_s=settings.styles.ideas_timeout_s,
                          max_info_chars=settings.telegram.max_product_info_chars)

    @functools.cached_property
    def moderator(self):
        """OpenAI's moderation endpoint (:mod:`neurocards.clients.moderation`)."""
        from .clients.moderation import Moderator

        settings = self.settings
        return Moderator(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                         model=settings.openai.moderation_model, timeout_s=settings.openai.moderation_timeout_s)

    @functools.cached_property
    def telegram_files(self):
        """Files sellers sent, fetched by ``file_id`` from any host."""
        from .clients.telegram_files import TelegramFiles

        return TelegramFiles(api_base=self.settings.telegram_api_base, token=self.settings.telegram_token)

    @functools.cached_property
    def storage(self):
        from .media.result_urls import host_port
        from .media.storage import Storage

        settings = self.settings
        kie_hosts = frozenset(host_port(url) for url in (settings.kie_base_url, settings.kie_upload_url))
        return Storage(settings.storage_dir, max_video_bytes=settings.storage.max_video_mb * 1024 * 1024,
                       trusted_hosts=kie_hosts)

    @functools.cached_property
    def invoice_key(self) -> bytes:
        """The key Stars invoice payloads are signed with (:mod:`neurocards.money.invoices`)."""
        from .money.invoices import payload_key

        return payload_key(self.settings.telegram_token)

    @functools.cached_property
    def metrics(self):
        """The worker's domain metrics (:mod:`neurocards.metrics`)."""
        from .metrics import WorkerMetrics

        return WorkerMetrics()

    def telegram_bot(self):
        """An aiogram ``Bot`` for the running event loop (call it from a coroutine):
        an aiohttp session belongs to the loop that opened it."""
        from .clients.telegram import create_bot

        loop = asyncio.get_running_loop()
        bot = self._bots.get(loop)
        if bot is None:
            bot = self._bots[loop] = create_bot(self.settings, budgets=self.budgets)
        return bot

    # -- the end --------------------------------------------------------------

    def close(self) -> None:
        """Let go of the connections this context opened (bots' sessions are
        closed by their own loops)."""
        self.broker.close()
        self.redis.close()
        close_database()
