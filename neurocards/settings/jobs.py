"""A job's sections: the pipeline's policy, the watchdog's limits, the formats and tiers, the ETA."""

from __future__ import annotations

from pydantic import Field, field_validator

from .base import Section

__all__ = ["PipelineSettings", "WatchdogSettings", "Tier", "FormatsSettings", "EtaSettings"]


class PipelineSettings(Section):
    enhance_time_limit_s: float = Field(120, gt=0)
    submit_time_limit_s: float = Field(90, gt=0)
    poll_time_limit_s: float = Field(60, gt=0)
    download_time_limit_s: float = Field(300, gt=0)
    deliver_time_limit_s: float = Field(300, gt=0)
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
    delivering_s: float = Field(600.0, gt=0)
    unnotified_s: float = Field(300.0, gt=0)  # a failed job whose seller was not told
    notify_within_s: float = Field(86_400.0, gt=0)  # ... is told again only this long after its failure
    deadline_s: float = Field(3600.0, gt=0)  # a stuck job older than this is failed and refunded
    batch: int = Field(500, ge=1)  # jobs per state per pass

    def stale_after_s(self, status: str) -> float:
        """How long a job may stay in ``status`` (an active state) without a write."""
        return getattr(self, f"{status}_s")


class Tier(Section):
    """A quality tier a seller can pick under "Options": a KIE model at a price in
    credits.  Without ``model`` or ``price`` it takes ``kie.model`` / ``credits.price``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,11}$")  # goes into button data: short, plain
    model: str | None = None
    price: int | None = Field(None, ge=1)


class FormatsSettings(Section):
    """What a video is made in (issue 14): the tiers on offer, the first the default.
    The default format (aspect ratio) is ``kie.aspect_ratio``."""

    tiers: list[Tier] = [Tier(name="fast"), Tier(name="quality", model="veo3", price=3)]

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
