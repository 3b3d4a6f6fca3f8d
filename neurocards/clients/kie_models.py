"""The KIE video models Neurocards can make a tier of, and what each takes (issue 21).

``shared/API_FACTS.md`` §1.3 and §1.4: the Veo models run on
``/api/v1/veo/generate`` + ``record-info``, the market models (Kling, Sora 2)
on ``/api/v1/jobs/createTask`` + ``recordInfo``, each with its own ``input``
fields.  Only ``veo3_fast`` takes reference images (``REFERENCE_2_VIDEO``, up
to three); every other model takes one photo, the first frame.  A model not in
the catalogue is called by its API's generic shape and given one photo.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["VideoModel", "CATALOGUE", "model_spec"]


@dataclasses.dataclass(frozen=True)
class VideoModel:
    """One KIE model: its API, how many photos a task may carry, what it films."""

    id: str
    api: Literal["veo", "market"]
    max_photos: int = 1  # >1: the photos go as reference images
    duration_s: int = 8  # the clip's length
    aspect_ratios: tuple[str, ...] = ("16:9", "9:16")
    prompt_max: int = 1000
    known: bool = True  # False: not in the catalogue, called by its API's generic shape

    @property
    def takes_references(self) -> bool:
        return self.max_photos > 1


CATALOGUE: dict[str, VideoModel] = {model.id: model for model in (
    VideoModel("veo3_fast", "veo", max_photos=3),  # REFERENCE_2_VIDEO: veo3_fast only (§1.3)
    VideoModel("veo3", "veo"),
    VideoModel("veo3_lite", "veo"),
    VideoModel("kling-2.6/image-to-video", "market", duration_s=5),  # image_urls max 1, duration "5"|"10"
    VideoModel("sora-2-image-to-video", "market", duration_s=10, prompt_max=10000),  # portrait|landscape
)}


def model_spec(model: str) -> VideoModel:
    """The catalogue's entry for ``model``; for another id, its API's generic shape."""
    known = CATALOGUE.get(model)
    if known is not None:
        return known
    api = "veo" if "/" not in model and model.startswith("veo") else "market"
    return VideoModel(model, api, known=False)
