"""A job's photos (issue 21): the product from up to three sides.

The first photo stays on the job row (``photo_path``, ``photo_file_id``,
``kie_image_url``): it is the photo every model takes, the first frame.  The
others are :class:`~neurocards.models.JobPhoto` rows, positions 1 and 2, sent
to KIE as reference images where the job's model takes them
(:mod:`neurocards.clients.kie_models`).  Each is uploaded to KIE once and its
URL reused while valid, like the first; "Generate again" copies them all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from ..models import Job, JobPhoto, utcnow

__all__ = ["MAX_PHOTOS", "Photo", "more_photos", "add", "copy", "count", "uploaded", "still_valid", "remember_upload",
           "forget_uploads"]

#: Photos of one product a job takes (Veo's reference-to-video takes three).
MAX_PHOTOS = 3

#: An upload is reused only while it stays valid this much longer: KIE fetches it after the
#: create, and a resubmit may come a while later.
UPLOAD_REUSE_MARGIN = dt.timedelta(minutes=10)


@dataclasses.dataclass(frozen=True)
class Photo:
    """A photo stored on this host, and its Telegram file id (to fetch it again elsewhere)."""

    path: str
    file_id: str = ""


def more_photos(job_id) -> list[JobPhoto]:
    """The job's photos after its first, in order."""
    return list(JobPhoto.select().where(JobPhoto.job == job_id).order_by(JobPhoto.position))


def count(job_id) -> int:
    """How many photos the job has, its first included."""
    return 1 + JobPhoto.select().where(JobPhoto.job == job_id).count()


def add(job: Job, photos: Sequence[Photo]) -> None:
    """Keep ``photos`` (the ones after the first) with a new job; inside its transaction."""
    rows = [{"job": job.id, "position": position, "path": photo.path, "file_id": photo.file_id}
            for position, photo in enumerate(photos[: MAX_PHOTOS - 1], start=1)]
    if rows:
        JobPhoto.insert_many(rows).execute()


def copy(parent: Job, child: Job) -> None:
    """"Generate again": the child job has all of its parent's photos (their uploads too)."""
    rows = [{"job": child.id, "position": photo.position, "path": photo.path, "file_id": photo.file_id,
             "kie_image_url": photo.kie_image_url, "kie_image_expires_at": photo.kie_image_expires_at}
            for photo in more_photos(parent.id)]
    if rows:
        JobPhoto.insert_many(rows).execute()


def still_valid(url: str, expires: dt.datetime | None) -> str | None:
    """``url`` (a photo in KIE's file store) while it stays good past the reuse margin, else None."""
    return url if url and expires is not None and expires - UPLOAD_REUSE_MARGIN > utcnow() else None


def uploaded(photo: JobPhoto) -> str | None:
    """The photo's URL in KIE's file store while still good, else None."""
    return still_valid(photo.kie_image_url, photo.kie_image_expires_at)


def remember_upload(photo: JobPhoto, url: str, valid_s: float) -> None:
    JobPhoto.update(kie_image_url=url, kie_image_expires_at=utcnow() + dt.timedelta(seconds=valid_s)).where(
        (JobPhoto.job == photo.job_id) & (JobPhoto.position == photo.position)).execute()


def forget_uploads(job_id) -> None:
    """KIE could not fetch an image: the next submit uploads them all again."""
    JobPhoto.update(kie_image_url="", kie_image_expires_at=None).where(JobPhoto.job == job_id).execute()
