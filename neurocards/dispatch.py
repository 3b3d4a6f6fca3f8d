"""Pipeline messages by actor name: how anything that is not the worker (the bot,
the watchdog, the CLI, the tests) starts or nudges a job without importing the
``actors`` package.

Dramatiq routes a message by its actor's name and queue alone, so a process
may enqueue for an actor it never declared; the worker that runs the actor
applies its options (time limit, retries, age limit) when it processes it.
"""

from __future__ import annotations

import enum

import dramatiq

__all__ = ["PIPELINE_QUEUE", "MEDIA_QUEUE", "ActorName", "queue_of", "send"]

#: The queue every pipeline actor listens on, but the CPU-heavy ones.
PIPELINE_QUEUE = "pipeline"
#: The queue of the CPU-heavy actors (FFmpeg), served by worker processes of their own.
MEDIA_QUEUE = "media"


class ActorName(enum.StrEnum):
    """The pipeline's actors, in the order a job meets them (DESIGN §6)."""

    ENHANCE_PROMPT = "enhance_prompt"
    SUBMIT_GENERATION = "submit_generation"
    POLL_GENERATION = "poll_generation"
    DOWNLOAD_VIDEO = "download_video"
    FINISH_VIDEO = "finish_video"  # on the media queue: FFmpeg's CPU never holds up the I/O stages
    DELIVER_VIDEO = "deliver_video"
    SHOW_STATUS = "show_status"  # edit the seller's status message to the job's state
    FAIL_JOB = "fail_job"  # the refund path: fail the job and refund it, once
    NOTIFY_FAILURE = "notify_failure"  # the refund path: tell the seller, once
    LAUNCH_BATCH = "launch_batch"  # a batch's waiting jobs started as the seller's cap frees (issue 21)
    SHOW_BATCH = "show_batch"  # edit a batch's summary message


def queue_of(actor: str) -> str:
    """The queue ``actor`` listens on."""
    return MEDIA_QUEUE if actor == ActorName.FINISH_VIDEO else PIPELINE_QUEUE


def send(broker: dramatiq.Broker, actor: ActorName, *args, delay_ms: int | None = None) -> dramatiq.Message:
    """Enqueue ``actor(*args)`` on its queue, ``delay_ms`` later if given."""
    message = dramatiq.Message(queue_name=queue_of(actor), actor_name=str(actor), args=tuple(args), kwargs={},
                               options={})
    return broker.enqueue(message, delay=delay_ms)
