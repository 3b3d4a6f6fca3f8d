"""Videos Telegram accepted but we have not recorded yet (DESIGN §12).

Sending a video and recording it are two systems: the database may be away,
a time limit may cut the message short, the worker may be killed, between the
two.  ``deliver_video`` notes the message and file ids in Redis the moment
Telegram answers, before the database write; whatever touches the job next —
the message's retry, the watchdog's resend, the dead-letter path's
``fail_job`` — finds the note and records the delivery instead of sending the
video again, or refunding a video the seller has.
"""

from __future__ import annotations

import json
from typing import NamedTuple

__all__ = ["Sent", "note", "find"]

KEY = "neurocards:video-sent:{job_id}"
#: Long past any outage the pipeline waits out.
KEPT_S = 7 * 86_400


class Sent(NamedTuple):
    message_id: int
    file_id: str  # "" for a link
    delivered_as: str = "video"  # "video", "document" or "link"


def note(redis, job_id, message_id: int, file_id: str, delivered_as: str = "video") -> None:
    redis.set(KEY.format(job_id=job_id), json.dumps([message_id, file_id, delivered_as]), ex=KEPT_S)


def find(redis, job_id) -> Sent | None:
    """The job's video already in the chat, if noted."""
    raw = redis.get(KEY.format(job_id=job_id))
    if raw is None:
        return None
    message_id, file_id, *delivered_as = json.loads(raw)
    return Sent(int(message_id), str(file_id), *delivered_as)
