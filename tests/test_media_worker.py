"""The Procfile's split (issue 20): ``neurocards worker`` serves the pipeline queue
and ``neurocards worker --media`` the media queue, each on its own metrics port.
A seller's video is finished by the media worker — its FFmpeg time counted on
``metrics.media_port``, where Prometheus scrapes it, and not on the I/O
worker's — and sent by the I/O worker."""

from __future__ import annotations

import httpx
import pytest

from tests.bot_fixtures import Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.services import free_port, wait_until

WORKER_QUEUES = ("pipeline",)  # the stack's worker as `neurocards worker` runs it

FINISHED = 'neurocards_finish_cpu_seconds_count{preset="reels"}'
FINISH_MESSAGES = 'dramatiq_messages_total{actor_name="finish_video",queue_name="media"}'


@pytest.fixture(scope="module")
def media_port(stack):
    port = free_port()
    stack.start_media_worker(port)
    wait_until(lambda: _scrape(port) is not None, timeout=60)
    yield port
    stack.stop("media")


def _scrape(port: int) -> str | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None


def _value(metrics: str, series: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(series + " "))


def test_the_media_worker_finishes_the_video_and_counts_it_on_its_own_port(bot, media_port):
    chat = Chat(bot)
    chat.start()
    chat.photo(caption="Wool socks")
    [video] = chat.wait_video()
    [job] = chat.ended_jobs()
    assert (job.status, job.preset) == ("done", "reels")
    assert video["video"]["width"] * 16 == video["video"]["height"] * 9
    media = _scrape(media_port)
    assert _value(media, FINISHED) == 1 and _value(media, FINISH_MESSAGES) == 1
    io_worker = _scrape(int(bot.env["NEUROCARDS_METRICS__WORKER_PORT"]))
    assert _value(io_worker, FINISHED) == 0 and _value(io_worker, FINISH_MESSAGES) == 0
    assert 'dramatiq_messages_total{actor_name="deliver_video",queue_name="pipeline"}' in io_worker
