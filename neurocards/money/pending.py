"""Requests waiting for a top-up: "top up and continue" (issue 9).

A seller out of credits who sent a photo, or pressed "Generate again", keeps
that request for ``credits.pending_request_ttl_s``; the payment that lands in
that time starts it, without the photo being sent again.  One request per
seller — the latest.  Taking a request is a conditional delete, so of two bot
instances handling the same payment only one starts the job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from ..db import database
from ..jobs.photos import Photo
from ..models import PendingRequest, utcnow

__all__ = ["keep", "take", "peek", "more_photos_of"]


def keep(*, user_id: int, chat_id: int, product_info: str, ttl_s: float, photo_path: str = "",
         photo_file_id: str = "", parent_id=None, more_photos: Sequence[Photo] = (), style: str = "",
         brief: str = "") -> PendingRequest:
    """Keep this request for ``ttl_s``, replacing the seller's earlier one;
    ``more_photos`` are the product's other photos, already in storage."""
    with database.atomic():
        earlier = PendingRequest.get_or_none(PendingRequest.user == user_id)
        PendingRequest.delete().where(PendingRequest.user == user_id).execute()
        if earlier is not None and earlier.parent_id is None:  # a parent job's photos are the parent's
            for path in {earlier.photo_path, *(photo.path for photo in more_photos_of(earlier))} - {"", photo_path}:
                Path(path).unlink(missing_ok=True)
        return PendingRequest.create(
            user=user_id, chat_id=chat_id, product_info=product_info, photo_path=photo_path,
            photo_file_id=photo_file_id, parent=parent_id, expires_at=utcnow() + dt.timedelta(seconds=ttl_s),
            more_photos=json.dumps([dataclasses.asdict(photo) for photo in more_photos]) if more_photos else "",
            style=style, brief=brief,
        )


def more_photos_of(request: PendingRequest) -> list[Photo]:
    """The other photos kept with ``request``."""
    return [Photo(**photo) for photo in json.loads(request.more_photos)] if request.more_photos else []


def peek(user_id: int) -> PendingRequest | None:
    """The seller's request still waiting, if any."""
    return PendingRequest.get_or_none((PendingRequest.user == user_id) & (PendingRequest.expires_at > utcnow()))


def take(user_id: int) -> PendingRequest | None:
    """Remove and return the seller's waiting request; None when there is none
    (or another instance took it first)."""
    request = peek(user_id)
    if request is None:
        return None
    taken = PendingRequest.delete().where(
        (PendingRequest.user == user_id) & (PendingRequest.created_at == request.created_at)
    ).execute()
    return request if taken == 1 else None
