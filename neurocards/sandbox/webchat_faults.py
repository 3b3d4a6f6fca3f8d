"""The operator panel's fault toggles: a few named faults of the three stand-ins, each switched
on and off from the web chat, so one can watch what a seller sees when a service misbehaves.

A preset is one ``POST /_sandbox/scenario`` body for one stand-in (``slow generation`` is the
KIE stand-in's ``generation_s`` instead).  The Telegram stand-in's faults are changed in
process; the KIE and OpenAI stand-ins', which live on other ports, through their control API
at the URLs given to :func:`neurocards.sandbox.webchat.configure` (the browser could not reach
them itself: another origin).  A preset is on while a matching fault is set and has firings
left, so a "next …" toggle turns itself off once it has fired.  Turning one off clears the
stand-in's faults and sets again every other one that was on.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp

from .common import Faults

__all__ = ["Preset", "PRESETS", "FaultBoard", "SLOW_GENERATION_S"]

#: How long a KIE task takes with "slow generation" on (seconds).
SLOW_GENERATION_S = 90.0


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named fault: its stand-in, its label on the page, what it shows, and its scenario body."""

    key: str
    service: str
    label: str
    hint: str
    fault: str = ""
    count: int | None = None
    match: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def scenario(self) -> dict[str, Any]:
        return {"fault": self.fault, "count": self.count, "match": self.match, "params": self.params}

    def is_set_by(self, fault: dict[str, Any]) -> bool:
        """True when ``fault`` (as ``GET /_sandbox/scenario`` lists it) is this preset, still live."""
        same = all(fault.get(key) == value for key, value in self.scenario().items())
        return same and fault.get("rate", 1.0) == 1.0 and _live(fault)


PRESETS = (
    Preset("kie_content_policy", "kie", "KIE refuses the next video twice",
           "content policy: one free retry, refused again, the job fails, credit back",
           "content_policy", count=2, params={"stage": "task"}),
    Preset("kie_content_policy_once", "kie", "KIE refuses the next video once",
           "content policy: a free retry with a safer prompt, the video still comes",
           "content_policy", count=1, params={"stage": "task"}),
    Preset("kie_429", "kie", "KIE answers 429 to the next create", "rate limited: retried, the video still comes",
           "code", count=1, match={"endpoint": "generate"}, params={"code": 429}),
    Preset("kie_down", "kie", "KIE is down", "every call 503: retries, then the job fails, credit back",
           "http_status", params={"status": 503}),
    Preset("kie_slow", "kie", "Slow generation", f"each video takes {SLOW_GENERATION_S:.0f} s: watch the states"),
    Preset("openai_down", "openai", "OpenAI is down", "500s: the prompt comes from the template, the video still comes",
           "server_error"),
    Preset("openai_content_policy", "openai", "OpenAI refuses the next photo", "content policy: the job fails",
           "content_policy", count=1),
    Preset("telegram_429", "telegram", "Telegram 429 on the next video", "flood control: the bot waits and resends",
           "retry_after", count=1, match={"method": "sendVideo"}, params={"retry_after": 3}),
    Preset("telegram_video_fails", "telegram", "Telegram refuses videos",
           "500 on sendVideo: delivery fails, credit back", "server_error", match={"method": "sendVideo"}),
)  # fmt: skip
BY_KEY = {preset.key: preset for preset in PRESETS}


class FaultBoard:
    """Reads and flips the presets across the stand-ins.

    ``telegram`` is the Telegram stand-in's own faults; ``services`` the base URLs of the
    others; ``http`` the session to reach them.
    """

    def __init__(self, telegram: Faults, services: dict[str, str], http: aiohttp.ClientSession) -> None:
        self.telegram = telegram
        self.services = services
        self.http = http

    def available(self, service: str) -> bool:
        return service == "telegram" or service in self.services

    async def view(self) -> dict[str, Any]:
        """Every preset with ``on`` and ``available``, and each reachable stand-in's faults."""
        faults = {service: await self._faults(service) for service in ("telegram", "kie", "openai")
                  if self.available(service)}  # fmt: skip
        slow = await self._generation_s() == SLOW_GENERATION_S if self.available("kie") else False
        presets = []
        for preset in PRESETS:
            on = slow if preset.key == "kie_slow" else any(preset.is_set_by(f) for f in faults.get(preset.service, []))
            presets.append({"key": preset.key, "service": preset.service, "label": preset.label, "hint": preset.hint,
                            "on": on, "available": self.available(preset.service)})  # fmt: skip
        return {"presets": presets, "faults": faults}

    async def switch(self, key: str, on: bool, normal_generation_s: float) -> None:
        """Turn preset ``key`` on or off; ValueError for an unknown preset or stand-in."""
        preset = BY_KEY.get(key)
        if preset is None:
            raise ValueError(f"no such preset {key!r}; known: {', '.join(BY_KEY)}")
        if not self.available(preset.service):
            raise ValueError(f"the {preset.service} stand-in's address is not known to the web chat")
        if key == "kie_slow":
            await self._kie_config({"generation_s": SLOW_GENERATION_S if on else normal_generation_s})
        elif on:
            await self._add(preset.service, preset.scenario())
        else:
            kept = [f for f in await self._faults(preset.service) if not preset.is_set_by(f) and _live(f)]
            await self._clear(preset.service)
            for fault in kept:  # set again with the firings they had left
                left = None if fault["count"] is None else fault["count"] - fault["fired"]
                await self._add(preset.service, {"fault": fault["fault"], "count": left, "rate": fault["rate"],
                                                 "match": fault["match"], "params": fault["params"]})  # fmt: skip

    async def clear_all(self, normal_generation_s: float) -> None:
        for service in ("telegram", "kie", "openai"):
            if self.available(service):
                await self._clear(service)
        if self.available("kie"):
            await self._kie_config({"generation_s": normal_generation_s})

    async def generation_s(self) -> float | None:
        return await self._generation_s() if self.available("kie") else None

    # -- one stand-in -------------------------------------------------------------------------

    async def _faults(self, service: str) -> list[dict[str, Any]]:
        if service == "telegram":
            return self.telegram.describe()
        return (await self._call("GET", service, "/_sandbox/scenario"))["faults"]

    async def _add(self, service: str, scenario: dict[str, Any]) -> None:
        if service == "telegram":
            self.telegram.add(scenario["fault"], count=scenario.get("count"), rate=scenario.get("rate", 1.0),
                              match=scenario.get("match"), params=scenario.get("params"))  # fmt: skip
        else:
            await self._call("POST", service, "/_sandbox/scenario", scenario)

    async def _clear(self, service: str) -> None:
        if service == "telegram":
            self.telegram.clear()
        else:
            await self._call("DELETE", service, "/_sandbox/scenario")

    async def _generation_s(self) -> float:
        return float((await self._call("GET", "kie", "/_sandbox/kie/config"))["generation_s"])

    async def _kie_config(self, changes: dict[str, Any]) -> None:
        await self._call("POST", "kie", "/_sandbox/kie/config", changes)

    async def _call(self, method: str, service: str, path: str, body: Any = None) -> Any:
        timeout = aiohttp.ClientTimeout(total=5)
        async with self.http.request(method, self.services[service] + path, json=body, timeout=timeout) as response:
            response.raise_for_status()
            return await response.json()


def _live(fault: dict[str, Any]) -> bool:
    return fault["count"] is None or fault["fired"] < fault["count"]
