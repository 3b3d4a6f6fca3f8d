"""Fixtures for end-to-end pipeline tests: a stack per module, a seller per test."""

from __future__ import annotations

import html
import itertools
import uuid
from pathlib import Path

import httpx
import pytest

from neurocards import jobs
from neurocards.context import Context
from neurocards.db import close_database, init_database
from neurocards.dispatch import ActorName
from neurocards.media import ffmpeg
from neurocards.models import ACTIVE_STATUSES, Job
from neurocards.money.audit import audit
from neurocards.schema import migrate
from neurocards.settings import SANDBOX_BOT_TOKEN, load_settings
from neurocards.users import register
from tests.services import wait_until
from tests.stack import Stack

PRODUCT_JPG = Path(__file__).resolve().parent.parent / "neurocards" / "sandbox" / "assets" / "product.jpg"
SAMPLE_MP4 = PRODUCT_JPG.with_name("sample.mp4")


def probe_delivered(stack: Stack, video_event: dict, folder: Path) -> ffmpeg.Probe:
    """What FFmpeg reads in a video as Telegram received it (the sandbox keeps the upload)."""
    path = folder / f"{video_event['video']['file_id']}.mp4"
    path.write_bytes(stack.tg.file_bytes(video_event["video"]["file_id"]))
    return ffmpeg.probe(path)

_user_ids = itertools.count(700_000_001)


@pytest.fixture(scope="module")
def stack(request, redis_server, postgres_server, tmp_path_factory):
    """The sandbox, a database (SQLite or PostgreSQL per ``request.param``) and a real worker;
    a module's ``STACK_ENV`` adds settings for its processes, its ``WORKER_QUEUES``
    names the worker's queues (every one by default)."""
    engine = getattr(request, "param", "sqlite")
    if engine == "postgres":
        url = postgres_server.create_database()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'neurocards.db'}"
    stack = Stack(redis_url=redis_server.url, database_url=url)
    stack.env.update(getattr(request.module, "STACK_ENV", {}))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.env.items():
            patch.setenv(key, value)
        stack.context = Context(load_settings())  # this test process's own, like the bot's
        migrate()
        redis_server.client().flushall()
        stack.start_worker(module=getattr(request.module, "WORKER_MODULE", "actors"),
                           queues=getattr(request.module, "WORKER_QUEUES", ()))
        yield stack
        stack.close()
        stack.context.close()


@pytest.fixture(autouse=True)
def fresh(stack):
    """Each test: clean stand-ins; after it: every job ended and the ledger clean."""
    stack.reset_sandbox()
    init_database(stack.database_url)
    yield
    wait_until(lambda: not Job.select().where(Job.status.in_(ACTIVE_STATUSES)).exists(), timeout=60,
               what="every job to end")
    report = audit()
    assert report["ok"], report["problems"]


class Seller:
    """A seller who has talked to the bot and holds credits."""

    def __init__(self, stack: Stack, credits: int = 1, language: str = "en") -> None:
        self.stack = stack
        self.id = next(_user_ids)
        self.language = language
        stack.tg.send_text(self.id, "/start", language_code=language)
        register(self.id, language, welcome_credits=credits)

    def start_job(self, product_info: str = "Ceramic mug, 350 ml, matte white", aspect_ratio: str = "") -> Job:
        """What the bot does when the seller sends a photo: store it, send the status
        message, create the job (debit), send it down the pipeline."""
        context = self.stack.context
        settings = context.settings
        job_id = uuid.uuid4()
        photo = context.storage.save_photo(job_id, PRODUCT_JPG.read_bytes())
        status = self._send_status_message(product_info)
        job, _ = jobs.start_job(
            user_id=self.id,
            chat_id=self.id,
            product_info=product_info,
            language=self.language,
            price=settings.credits.price,
            max_in_flight=settings.telegram.max_jobs_in_flight,
            photo_path=str(photo),
            job_id=job_id,
            aspect_ratio=aspect_ratio,
        )
        jobs.set_status_message(job.id, status)
        context.send(ActorName.ENHANCE_PROMPT, str(job.id))
        return job

    def _send_status_message(self, product_info: str) -> int:
        url = f"{self.stack.telegram.url}/bot{SANDBOX_BOT_TOKEN}/sendMessage"
        reply = httpx.post(url, json={"chat_id": self.id, "text": f"Preparing {product_info}"}).json()
        return reply["result"]["message_id"]

    def transcript(self) -> dict:
        return self.stack.tg.transcript(self.id)

    def bot_events(self, kind: str) -> list[dict]:
        return [event for event in self.transcript()["events"] if event["type"] == kind]

    def wait_for_text(self, expected: str, timeout: float = 20.0) -> dict:
        """The bot's message whose text is ``expected`` (HTML as the bot sent it), once it arrives."""
        shown = html.unescape(expected)

        def find(transcript):
            found = [e for e in transcript["events"] if e["type"] == "bot_message" and e.get("text") == shown]
            return found[-1] if found else None

        return self.stack.tg.wait_for(find, timeout=timeout, chat_id=self.id)


__all__ = ["stack", "fresh", "Seller", "PRODUCT_JPG", "SAMPLE_MP4", "probe_delivered", "close_database"]
