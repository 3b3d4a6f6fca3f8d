"""Start the bot: long polling by default."""

from __future__ import annotations

import asyncio
import logging
import os

from ..logs import setup_logging
from ..settings import SettingsError, load_settings

logger = logging.getLogger("neurocards.bot")


async def _wait_forever() -> None:
    await asyncio.Event().wait()


#: What would make prometheus_client keep the bot's values in the workers' shared
#: folder, where the worker's endpoint would serve them a second time.
WORKER_METRICS_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "dramatiq_prom_db")


def main() -> int:
    for variable in WORKER_METRICS_VARIABLES:  # before anything imports prometheus_client
        os.environ.pop(variable, None)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"bot: {exc}", flush=True)
        return 2
    setup_logging(settings)
    if settings.sandbox_active and settings.real_keys_set and not settings.sandbox.accept_real_keys:
        print(f"bot: sandbox.enabled is on while real keys are set ({', '.join(settings.real_keys_set)}); refusing to "
              "send them to the local stand-ins (set sandbox.enabled = \"auto\" or \"off\")", flush=True)
        return 2
    if not settings.telegram_token:
        logger.warning("bot: no Telegram token; set NEUROCARDS_TELEGRAM__TOKEN (or leave every key unset for the sandbox). Waiting.")
        try:
            asyncio.run(_wait_forever())
        except KeyboardInterrupt:
            pass
        return 0
    from ..context import Context
    from .app import run

    context = Context(settings)
    try:
        return asyncio.run(run(context))
    finally:
        context.close()
