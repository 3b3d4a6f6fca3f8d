"""Dramatiq actors, one module per concern.  ``dramatiq actors`` loads them all.

The pipeline, top to bottom (each actor sends the next message itself, by name):

    enhance_prompt -> submit_generation -> poll_generation (re-sends itself)
    -> download_video -> finish_video (the media queue) -> deliver_video

``show_status`` edits the seller's status message as the job moves.  A batch's
jobs are let go by ``launch_batch`` as the seller's cap frees, and ``show_batch``
edits its summary as they end.  The
refund path — ``fail_job`` (fail the job, refund its credit) and
``notify_failure`` (tell the seller, once) — never expires and retries for as
long as it takes; the dead-letter middleware sends ``fail_job`` when a pipeline
message leaves for good.

This package is the worker's entry point: importing it builds the worker's one
:class:`~neurocards.context.Context` (settings, database, Redis, the broker with
the pipeline's middleware, budgets, clients) and declares the actors on it.
"""

import dramatiq

from neurocards.broker import pipeline_middleware
from neurocards.clients.telegram import prepare_answers
from neurocards.context import Context
from neurocards.jobs.pipeline import PipelineActors
from neurocards.middleware.housekeeping import StorageHousekeeping
from neurocards.middleware.prompt_delays import PromptDelays
from neurocards.settings import load_settings

_settings = load_settings()
context = Context(_settings, broker_middleware=pipeline_middleware(_settings))
broker = context.broker
broker.add_middleware(StorageHousekeeping(storage=context.storage, keep_s=_settings.storage.keep_days * 86_400,
                                          period_s=_settings.storage.sweep_period_s))
broker.add_middleware(PromptDelays())  # a message deferred for a rate-limit slot comes back when it frees
dramatiq.set_broker(broker)
declare = PipelineActors(broker, _settings.pipeline)

# aiogram reads each answer as ``Response[<result type>]``, a generic pydantic model
# pydantic keeps only while something refers to it: unpinned, it is collected and
# built again (milliseconds of the shared event loop) edit after edit.  Built once, kept.
prepare_answers(("EditMessageText", "SendMessage", "SendVideo", "GetFile"))

from . import (  # noqa: E402  (the context must exist before actors are declared)
    deliver_video,
    download_video,
    enhance_prompt,
    fail_job,
    finish_video,
    launch_batch,
    notify_failure,
    poll_generation,
    show_batch,
    show_status,
    submit_generation,
)

__all__ = ["broker", "context", "declare"]
