"""Dramatiq actors, one module per concern.  ``dramatiq actors`` loads them all.

The pipeline, top to bottom (each actor sends the next message itself):

    enhance_prompt -> submit_generation -> poll_generation (re-sends itself)
    -> download_video -> deliver_video

``notify_user`` edits the seller's status message and tells them about
failures; ``fail_job`` fails a job, refunds its credit and has the seller told,
once — the dead-letter middleware sends it when a pipeline message leaves for good.
"""

from neurocards.broker import build_broker, pipeline_middleware
from neurocards.db import init_database
from neurocards.settings import get_settings

_settings = get_settings()
init_database(_settings.database_url)
broker = build_broker(
    _settings.redis_url,
    heartbeat_timeout_s=_settings.worker.heartbeat_timeout_s,
    maintenance_chance=_settings.worker.maintenance_chance,
    middleware=pipeline_middleware(_settings),
)

from . import (  # noqa: E402  (the broker must exist before actors are declared)
    deliver_video,
    download_video,
    enhance_prompt,
    fail_job,
    notify_user,
    poll_generation,
    submit_generation,
)

__all__ = [
    "broker",
    "enhance_prompt",
    "submit_generation",
    "poll_generation",
    "download_video",
    "deliver_video",
    "notify_user",
    "fail_job",
]
