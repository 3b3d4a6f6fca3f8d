"""A job's sections: the pipeline's policy, the watchdog's limits, the formats and tiers, the ETA."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .base import Section

__all__ = ["Preset", "FORMATS", "PipelineSettings", "WatchdogSettings", "Tier", "FormatsSettings", "EtaSettings"]


class PipelineSettings(Section):
    enhance_time_limit_s: float = Field(120, gt=0)
    submit_time_limit_s: float = Field(90, gt=0)
    poll_time_limit_s: float = Field(60, gt=0)
    download_time_limit_s: float = Field(300, gt=0)
    deliver_time_limit_s: float = Field(300, gt=0)
    finish_time_limit_s: float = Field(600, gt=0)
    notify_time_limit_s: float = Field(60, gt=0)
    max_retries: int = Field(5, ge=0)
    min_backoff_s: float = Field(5.0, gt=0)
    max_backoff_s: float = Field(120.0, gt=0)
    max_age_s: float = Field(3600, gt=0)
    delivery_attempts: int = Field(3, ge=1)
    openai_fallback: bool = True


class WatchdogSettings(Section):
    """When a job counts as stuck, and what the watchdog does about it (DESIGN §12).

    ``<state>_s`` is how long a job may stay in that state without a write (its
    ``updated_at``) before its message is taken for lost and sent again: longer
    than the state's normal gaps (polls come every ``kie.poll_max_s``) and than
    its actor's time limit (a claim older than that has no live holder).
    """

    period_s: float = Field(15.0, gt=0)  # how often it looks
    lease_s: float = Field(60.0, gt=0)  # one watchdog at a time: another host takes over after this
    created_s: float = Field(300.0, gt=0)
    enhancing_s: float = Field(600.0, gt=0)
    generating_s: float = Field(180.0, gt=0)  # past the job's next scheduled poll (next_poll_at), not its last write
    downloading_s: float = Field(600.0, gt=0)
    finishing_s: float = Field(600.0, gt=0)
    delivering_s: float = Field(600.0, gt=0)
    unnotified_s: float = Field(300.0, gt=0)  # a failed job whose seller was not told
    notify_within_s: float = Field(86_400.0, gt=0)  # ... is told again only this long after its failure
    deadline_s: float = Field(3600.0, gt=0)  # a stuck job older than this is failed and refunded
    batch_wait_s: float = Field(86_400.0, gt=0)  # a batch's job still waiting its turn after this: failed, refunded
    batch: int = Field(500, ge=1)  # jobs per state per pass

    def stale_after_s(self, status: str) -> float:
        """How long a job may stay in ``status`` (an active state) without a write."""
        return getattr(self, f"{status}_s")


class Tier(Section):
    """A quality tier a seller can pick under "Options": a KIE model at a price in
    credits.  Without ``model`` or ``price`` it takes ``kie.model`` / ``credits.price``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,9}$")  # goes into button data: short, plain
    model: str | None = None
    price: int | None = Field(None, ge=1)


#: The formats a video can be finished in.
FORMATS = ("9:16", "1:1", "3:4", "4:5", "16:9")


class Preset(Section):
    """What a finished video is made for (issue 20): a marketplace card or a feed, with
    its format, its frame (at most: a smaller clip is never blown up), its size cap
    and whether it keeps the sound."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,11}$")
    aspect_ratio: Literal["9:16", "1:1", "3:4", "4:5", "16:9"]
    width: int = Field(ge=64, le=4096)
    height: int = Field(ge=64, le=4096)
    max_mb: float = Field(50.0, gt=0, le=50.0)  # Telegram's bot upload cap is the ceiling
    sound: bool = True

    @model_validator(mode="after")
    def _frame_is_the_format(self) -> Preset:
        a, b = (int(part) for part in self.aspect_ratio.split(":"))
        if self.width * b != self.height * a:
            raise ValueError(f"{self.width}x{self.height} is not {self.aspect_ratio}")
        return self


#: API_FACTS §6: Wildberries and Ozon cards are 3:4 (900x1200 recommended, WB at most 50 MB, Ozon's
#: first 8 s muted in the catalogue), Reels/Shorts/TikTok 9:16 1080x1920, YouTube 16:9.
DEFAULT_PRESETS = [
    Preset(name="reels", aspect_ratio="9:16", width=1080, height=1920),
    Preset(name="wildberries", aspect_ratio="3:4", width=900, height=1200),
    Preset(name="ozon", aspect_ratio="3:4", width=900, height=1200, sound=False),
    Preset(name="feed", aspect_ratio="4:5", width=1080, height=1350),
    Preset(name="square", aspect_ratio="1:1", width=1080, height=1080),
    Preset(name="youtube", aspect_ratio="16:9", width=1920, height=1080),
]


class FormatsSettings(Section):
    """What a video is made in (issue 14): the tiers on offer, the first the default.
    The default format (aspect ratio) is ``kie.aspect_ratio``.  Finishing (issue 20):
    the presets (a format's default is its first), how the formats KIE does not make
    are cut from its 9:16 film (``fit``: crop keeps the centre, pad keeps everything),
    and the encoder's settings."""

    tiers: list[Tier] = [Tier(name="fast"), Tier(name="quality", model="veo3", price=3)]
    presets: list[Preset] = DEFAULT_PRESETS
    fit: dict[str, Literal["crop", "pad"]] = {"1:1": "crop", "3:4": "crop", "4:5": "crop"}
    x264_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"
    crf: int = Field(23, ge=0, le=51)
    audio_kbps: int = Field(128, ge=32, le=320)
    finish_timeout_s: float = Field(240.0, gt=0)  # one FFmpeg run; past it, KIE's clip goes as it is
    nice: int = Field(10, ge=0, le=19)  # FFmpeg's CPU priority below the I/O workers' (0: the same)

    def preset(self, name: str, aspect_ratio: str) -> Preset:
        """The preset named, if it makes ``aspect_ratio``; else that format's default."""
        named = next((p for p in self.presets if p.name == name and p.aspect_ratio == aspect_ratio), None)
        return named or next(p for p in self.presets if p.aspect_ratio == aspect_ratio)

    @field_validator("presets")
    @classmethod
    def _every_format_finished(cls, presets: list[Preset]) -> list[Preset]:
        missing = [ratio for ratio in FORMATS if all(p.aspect_ratio != ratio for p in presets)]
        if missing:
            raise ValueError(f"no preset for {', '.join(missing)}")
        if len({p.name for p in presets}) != len(presets):
            raise ValueError("preset names must differ")
        return presets

    @field_validator("tiers")
    @classmethod
    def _named_once(cls, tiers: list[Tier]) -> list[Tier]:
        names = [tier.name for tier in tiers]
        if not names:
            raise ValueError("at least one tier is needed")
        if len(set(names)) != len(names):
            raise ValueError("tier names must differ")
        return tiers


class EtaSettings(Section):
    """The time left shown on the status message, from recent jobs' stage times (issue 14)."""

    recent_jobs: int = Field(20, ge=1)  # finished jobs per model whose stage times make the estimate
    default_filming_s: float = Field(270.0, gt=0)  # KIE's filming time assumed before a model has history
    refresh_s: float = Field(10.0, ge=0)  # each process works the medians out again at most this often (0: always)
