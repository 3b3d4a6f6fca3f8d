"""Wire the bot: dispatcher, routers, middlewares, the web app, polling or webhook."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import os
import signal
import threading

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import BotCommand
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiohttp import web
from redis.asyncio import Redis

from ..clients.telegram import RetryAfterMiddleware, TelegramBudget, create_bot, prepare_answers
from ..context import Context
from ..db import database
from ..redis_clients import reconnecting_async_client
from ..texts import DEFAULT_LANGUAGE, LANGUAGES, menu_commands
from .albums import AlbumCollector
from .chat_order import ChatOrder
from .housekeeping import sweeping
from .metrics import BotMetrics
from .middlewares import SellerMiddleware, ThrottleMiddleware, UpdateMetricsMiddleware
from .plan_sweep import ending_plans
from .polling_lock import PollingLock
from .reconciler import reconciling
from .routers import (
    account,
    admin,
    again,
    batch,
    broadcast,
    buy,
    errors,
    fallback,
    generate,
    invite,
    membership,
    options,
    promo,
    regenerate,
    report,
    start,
    subscription,
)
from .web import build_web_app
from .webhook import WEBHOOK_PATH, webhook_secret

__all__ = ["build_dispatcher", "run"]

logger = logging.getLogger("neurocards.bot")

#: Connections to Redis and to Telegram opened before the first update: the
#: updates a burst's first moment brings at once, each of which would otherwise
#: open its own (the bench's first dozen replies took ten times the rest's).
WARM_CONNECTIONS = 8
#: The threads of the default executor (``asyncio.to_thread``: every database
#: call of the bot), each opened with its database connection before the first update.
DATABASE_THREADS = min(32, (os.cpu_count() or 1) + 4)  # what asyncio would choose


def build_dispatcher(context: Context, redis: Redis, metrics: BotMetrics) -> Dispatcher:
    """The dispatcher, with the process context in every handler's workflow data
    (``context``, ``settings``, ``redis`` — the asyncio client — ``metrics`` and
    ``albums``, where albums are collected)."""
    settings = context.settings
    dispatcher = Dispatcher(storage=RedisStorage(redis), context=context, settings=settings, redis=redis,
                            metrics=metrics, albums=AlbumCollector(redis))
    ChatOrder.install(dispatcher)  # each chat's updates answered in the order they came
    for observer in (dispatcher.message, dispatcher.callback_query, dispatcher.pre_checkout_query):
        observer.outer_middleware(UpdateMetricsMiddleware(metrics.updates, metrics.handler_seconds))
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(ThrottleMiddleware(redis))
        observer.outer_middleware(SellerMiddleware(settings.credits.welcome, settings.credits.payment_wait_s))
    dispatcher.callback_query.middleware(CallbackAnswerMiddleware())
    dispatcher.include_routers(
        errors.router,
        membership.router,
        start.router,
        admin.router,
        promo.router,
        invite.router,
        account.router,
        buy.router,
        subscription.router,
        again.router,
        options.router,
        regenerate.router,
        report.router,
        broadcast.router,
        batch.router,
        generate.router,
        fallback.router,
    )
    return dispatcher


async def _set_commands(bot: Bot) -> None:
    for language in LANGUAGES:
        await bot.set_my_commands(
            [BotCommand(command=name, description=description) for name, description in menu_commands(language)],
            language_code=None if language == DEFAULT_LANGUAGE else language,
        )


async def run(context: Context) -> int:
    settings = context.settings
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="bot-db"))
    redis = reconnecting_async_client(settings.redis_url)  # a Redis restart is not an error
    bot = create_bot(settings)
    metrics = BotMetrics(redis=context.redis)
    bot.session.middleware(RetryAfterMiddleware(on_wait=metrics.telegram_asked_to_wait))
    bot.session.middleware(TelegramBudget(context.budgets))  # inside: a repeat after a 429 waits its turn again
    dispatcher = build_dispatcher(context, redis, metrics)
    runners = [await _serve(build_web_app(context, bot, dispatcher, redis, metrics), settings.telegram.web_host,
                            settings.telegram.web_port, "web app")]
    runners.append(await _serve(metrics.app(), settings.metrics.host, settings.metrics.bot_port, "metrics"))
    try:
        me = await bot.get_me()
        await _set_commands(bot)
        await _warm_up(context, bot, redis)
        storage = settings.storage
        async with reconciling(context, bot, metrics, settings.credits.reconcile_period_s), \
                sweeping(context.storage, storage.keep_days * 86_400, storage.sweep_period_s), \
                ending_plans(settings.credits.subscription, metrics):
            if settings.telegram.mode == "webhook":
                return await _run_webhook(settings, bot, me)
            return await _run_polling(bot, dispatcher, redis, me)
    finally:
        await dispatcher["albums"].wait()  # an album being collected is answered before the bot goes
        for runner in runners:
            await runner.cleanup()
        await bot.session.close()
        await redis.aclose()


async def _warm_up(context: Context, bot: Bot, redis: Redis) -> None:
    """Pay before the first update what the first sellers after a start would
    otherwise wait for (issue 12): aiogram's answer models, connections to Redis
    (the budgets' script loaded) and to Telegram, the database threads with
    their connections; then take what the process built so far (modules,
    aiogram's and pydantic's models: some 300,000 objects) out of the garbage
    collector's sweeps, each of which would otherwise stop the event loop for
    50-300 ms to go through them again."""
    prepare_answers()
    ready = threading.Barrier(DATABASE_THREADS)

    def open_connection() -> None:
        try:
            database.connect(reuse_if_open=True)
        finally:
            with contextlib.suppress(threading.BrokenBarrierError):
                ready.wait(timeout=5)  # every thread busy at once: the executor starts them all

    try:
        await context.budgets.limiter.warm_up_async(WARM_CONNECTIONS)
        await asyncio.gather(*(redis.ping() for _ in range(WARM_CONNECTIONS)))
        await asyncio.gather(*(bot.get_me() for _ in range(WARM_CONNECTIONS)))
        await asyncio.gather(*(asyncio.to_thread(open_connection) for _ in range(DATABASE_THREADS)))
    except Exception as exc:  # a service away at the start is met again by the first update, as ever
        logger.warning("bot: warming up before the first update: %s: %s", type(exc).__name__, exc)
    gc.collect()
    gc.freeze()


async def _serve(app: web.Application, host: str, port: int, what: str) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("bot: %s on http://%s:%s", what, host, port)
    return runner


async def _run_polling(bot: Bot, dispatcher: Dispatcher, redis: Redis, me) -> int:
    lock = PollingLock(redis, me.id)
    if not await lock.acquire():
        logger.error("bot: another instance is already polling as @%s; not starting a second one", me.username)
        return 1
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        logger.info("bot: @%s long polling", me.username)
        async with lock.kept(on_lost=dispatcher.stop_polling):
            await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=False)
    finally:
        await lock.release()
    return 0


async def _run_webhook(settings, bot: Bot, me) -> int:
    url = settings.telegram.webhook_url.rstrip("/") + WEBHOOK_PATH
    await bot.set_webhook(url, secret_token=webhook_secret(settings), drop_pending_updates=False)
    logger.info("bot: @%s receiving updates by webhook", me.username)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    logger.info("bot: stopping")
    return 0
