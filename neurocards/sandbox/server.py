"""Running the stand-ins: together in the foreground (``neurocards sandbox``) or
one at a time on a background thread (tests, benchmarks, ``neurocards demo``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web

__all__ = ["ThreadedApp", "start_site"]


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on host:port (0 = any free port); return the runner and the port."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked
    return runner, bound


class ThreadedApp:
    """An aiohttp app served from its own event loop on a daemon thread.

    ``factory`` is called on that loop, so the app and everything it creates
    belong to it.  ``app`` is the running application; :meth:`call` runs a
    coroutine function on the app's loop and returns its result.
    """

    def __init__(self, factory: Callable[[], web.Application], host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(factory, port), daemon=True, name="sandbox")
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error

    def _run(self, factory, port: int) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.app = factory()
            self.runner, self.port = self.loop.run_until_complete(start_site(self.app, self.host, port))
        except BaseException as exc:  # reported to the constructor's caller
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def call(self, coroutine_function, *args, timeout: float = 30):
        future = asyncio.run_coroutine_threadsafe(coroutine_function(*args), self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)

    def __enter__(self) -> ThreadedApp:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
