"""What the three stand-ins share: faults set through the control API, call
counts, and the control routes that expose both."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import Counter
from typing import Any

from aiohttp import web

__all__ = ["Fault", "Faults", "CallLog", "add_control_routes", "json_body"]


@dataclasses.dataclass
class Fault:
    """One injected fault: fires ``count`` times (None: for ever) with probability ``rate``,
    only for requests whose context matches every key of ``match``."""

    id: int
    fault: str
    count: int | None = None
    rate: float = 1.0
    match: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    fired: int = 0

    def matches(self, name: str, context: dict[str, Any]) -> bool:
        if name != self.fault or (self.count is not None and self.fired >= self.count):
            return False
        return all(str(context.get(key)) == str(value) for key, value in self.match.items())


class Faults:
    """The faults a stand-in has been told to inject, consulted request by request."""

    def __init__(self, known: frozenset[str] | set[str], seed: int = 0) -> None:
        self.known = frozenset(known)
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._random = random.Random(seed)

    def add(self, fault: str, *, count: int | None = None, rate: float = 1.0, match=None, params=None) -> Fault:
        if fault not in self.known:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(sorted(self.known))}")
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        entry = Fault(next(self._ids), fault, count, float(rate), dict(match or {}), dict(params or {}))
        self._faults.append(entry)
        return entry

    def take(self, fault: str, **context: Any) -> dict[str, Any] | None:
        """The params of the first matching fault that fires now, or None."""
        for entry in self._faults:
            if entry.matches(fault, context) and self._random.random() < entry.rate:
                entry.fired += 1
                return entry.params
        return None

    def active(self, fault: str, **context: Any) -> bool:
        return self.take(fault, **context) is not None

    def clear(self) -> None:
        self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(entry) for entry in self._faults]


class CallLog:
    """Counts the API calls a stand-in received, by ``METHOD path``-like name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def record(self, name: str) -> None:
        self.counts[name] += 1

    def clear(self) -> None:
        self.counts.clear()


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong."""
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


def add_control_routes(app: web.Application, faults: Faults, calls: CallLog, reset=None) -> None:
    """``/_sandbox/scenario`` (POST add, GET list, DELETE clear), ``/_sandbox/calls``
    and ``/_sandbox/reset`` (faults, calls and whatever ``reset()`` clears)."""

    async def add_fault(request: web.Request) -> web.Response:
        body = await json_body(request)
        try:
            entry = faults.add(
                str(body.get("fault", "")),
                count=body.get("count"),
                rate=body.get("rate", 1.0),
                match=body.get("match"),
                params=body.get("params"),
            )
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(dataclasses.asdict(entry))

    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": faults.describe(), "known": sorted(faults.known)})

    async def clear_faults(request: web.Request) -> web.Response:
        faults.clear()
        return web.json_response({"ok": True})

    async def get_calls(request: web.Request) -> web.Response:
        return web.json_response(dict(calls.counts))

    async def reset_all(request: web.Request) -> web.Response:
        faults.clear()
        calls.clear()
        if reset is not None:
            reset()
        return web.json_response({"ok": True})

    app.router.add_post("/_sandbox/scenario", add_fault)
    app.router.add_get("/_sandbox/scenario", list_faults)
    app.router.add_delete("/_sandbox/scenario", clear_faults)
    app.router.add_get("/_sandbox/calls", get_calls)
    app.router.add_post("/_sandbox/reset", reset_all)
