"""Fixtures and helpers for the KIE.AI contract tests (``test_kie_*.py``).

Contract tests: our KieClient against the KIE.AI stand-in, both held to API_FACTS §1.
The stand-in validates every request the way the documentation describes, so a
wrong field name or shape in the client fails there; every fault must reach our
code as the documented answer (a KieApiError with the business code, or a
failed TaskStatus), so the pipeline tests built on the stand-in mean something.

Each test module imports ``kie``, ``clean_kie`` (autouse) and ``client`` from here,
so each gets its own stand-in, reset before every test.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from neurocards.clients.kie import KieClient, TaskStatus
from neurocards.sandbox.kie import create_app
from neurocards.sandbox.server import ThreadedApp
from neurocards.settings import SANDBOX_API_KEY

VEO = "veo3_fast"
KLING = "kling-2.6/image-to-video"
SORA = "sora-2-image-to-video"
PROMPT = "The mug slowly turns on a wooden table, steam rising, soft morning light"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
SAMPLE_MP4 = Path(__file__).resolve().parents[2] / "neurocards" / "sandbox" / "assets" / "sample.mp4"
HMAC_KEY = "whsec-neurocards-test"
DEADLINE_S = 10.0


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kie():
    with ThreadedApp(lambda: create_app(generation_s=0.1)) as app:
        yield app


@pytest.fixture(autouse=True)
def clean_kie(kie):
    httpx.post(f"{kie.url}/_sandbox/reset").raise_for_status()


@pytest.fixture
def client(kie):
    with KieClient(kie.url, kie.url, SANDBOX_API_KEY, timeout_s=10) as client:
        yield client


@pytest.fixture(scope="module")
def receiver():
    """A tiny callback receiver: every POST body and its headers land in ``app.received``."""
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        received.append({"path": request.path, "headers": dict(request.headers), "json": await request.json()})
        return web.json_response({"ok": True})

    def factory() -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", hook)
        return app

    with ThreadedApp(factory) as app:
        app.received = received
        yield app


# -- helpers --------------------------------------------------------------------------


def fault(kie, name: str, **entry) -> None:
    httpx.post(f"{kie.url}/_sandbox/scenario", json={"fault": name, **entry}).raise_for_status()


def configure(kie, **config) -> dict:
    answer = httpx.post(f"{kie.url}/_sandbox/kie/config", json=config)
    answer.raise_for_status()
    return answer.json()


def sandbox_task(kie, task_id: str) -> dict:
    answer = httpx.get(f"{kie.url}/_sandbox/kie/tasks/{task_id}")
    answer.raise_for_status()
    return answer.json()


def calls(kie) -> dict[str, int]:
    return httpx.get(f"{kie.url}/_sandbox/calls").json()


def settle(client: KieClient, task_id: str, model: str) -> list[TaskStatus]:
    """Poll until the task leaves pending; every status seen, in order."""
    seen: list[TaskStatus] = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        seen.append(client.get_task(task_id, model))
        if seen[-1].state != "pending":
            return seen
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} still pending after {DEADLINE_S} s: {seen[-1]}")


def callbacks_at(receiver, path: str, count: int) -> list[dict]:
    """Wait until ``count`` callbacks reached ``path``; return them."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        hits = [hit for hit in receiver.received if hit["path"] == path]
        if len(hits) >= count:
            return hits
        time.sleep(0.02)
    raise AssertionError(f"{count} callbacks expected at {path}, got {len(hits)}")


def new_task(client: KieClient, model: str = VEO, **kwargs) -> str:
    image_url = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    return client.create_task(model=model, prompt=PROMPT, image_url=image_url, **kwargs)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
