"""The operator's economics (issue 22): what a job cost at KIE and OpenAI, what
the credits it took are worth, and the margin — per day and per model.

A job's KIE cost is the price table's credits (``economics.kie_prices``, by
model and resolution) for every task it made, corrected by KIE's own figure
for the last one where KIE reports it (``consumeCredits``); its OpenAI cost is
the tokens its prompt took at ``economics.openai_usd_per_1m_*``.  Revenue is
the credits of delivered videos at the packs' mean price in Stars, converted at
``economics.usd_per_star``: welcome, promo and referral credits are valued the
same, so the margin is the business's, not the cash register's.
"""

from __future__ import annotations

import datetime as dt
import logging

from peewee import fn

from ..models import Job, JobStatus

__all__ = ["usd_per_credit", "task_credits", "job_cost_usd", "report"]

logger = logging.getLogger(__name__)
#: The resolution our jobs are made in (KIE's default; the price table is keyed by it).
RESOLUTION = "720p"


def usd_per_credit(settings) -> float:
    """A credit's worth: the packs' mean Stars per credit, at ``usd_per_star``."""
    packs = settings.credits.packs
    stars_per_credit = sum(pack.stars for pack in packs) / max(sum(pack.credits for pack in packs), 1)
    return stars_per_credit * settings.economics.usd_per_star


def task_credits(settings, model: str) -> float:
    """The price table's KIE credits for one task of ``model`` (0, logged, when it has none)."""
    credits = settings.economics.kie_credits(model, RESOLUTION)
    if credits is None:
        logger.warning("no KIE price for model %s at %s in economics.kie_prices: its cost counts as 0",
                       model, RESOLUTION)
        return 0.0
    return float(credits)


def job_cost_usd(settings, job: Job) -> float:
    economics = settings.economics
    return (job.kie_credits * economics.usd_per_kie_credit
            + economics.openai_usd(job.openai_input_tokens, job.openai_output_tokens))


def report(settings, since: dt.datetime | None = None) -> dict:
    """Revenue against cost per day and per model, and the margin per video
    (jobs started since ``since``; all of them by default)."""
    economics, worth = settings.economics, usd_per_credit(settings)
    default_model = settings.kie.model
    day = fn.DATE(Job.created_at)
    query = (Job.select(day.alias("day"), Job.model, Job.status, fn.COUNT(Job.id).alias("n"),
                        fn.COALESCE(fn.SUM(Job.price), 0).alias("credits"),
                        fn.COALESCE(fn.SUM(Job.kie_credits), 0).alias("kie"),
                        fn.COALESCE(fn.SUM(Job.openai_input_tokens), 0).alias("tokens_in"),
                        fn.COALESCE(fn.SUM(Job.openai_output_tokens), 0).alias("tokens_out"))
             .group_by(day, Job.model, Job.status))
    if since is not None:
        query = query.where(Job.created_at >= since)
    days: dict[str, dict] = {}
    models: dict[str, dict] = {}
    for row in query.dicts():
        cost = float(row["kie"]) * economics.usd_per_kie_credit + economics.openai_usd(int(row["tokens_in"]),
                                                                                     int(row["tokens_out"]))
        videos = row["n"] if row["status"] == JobStatus.DONE else 0
        revenue = int(row["credits"]) * worth if row["status"] == JobStatus.DONE else 0.0
        for bucket in (days.setdefault(str(row["day"]), _empty()), models.setdefault(row["model"] or default_model,
                                                                                     _empty())):
            bucket["jobs"] += row["n"]
            bucket["videos"] += videos
            bucket["revenue_usd"] += revenue
            bucket["cost_usd"] += cost
            bucket["kie_credits"] += float(row["kie"])
    total = _finish({key: sum(bucket[key] for bucket in days.values()) for key in _empty()})
    for bucket in (*days.values(), *models.values()):
        _finish(bucket)
    return {"usd_per_credit": round(worth, 4), "total": total, "by_day": dict(sorted(days.items())),
            "by_model": dict(sorted(models.items()))}


def _empty() -> dict:
    return {"jobs": 0, "videos": 0, "revenue_usd": 0.0, "cost_usd": 0.0, "kie_credits": 0.0}


def _finish(bucket: dict) -> dict:
    """Rounded, with the margin (share of revenue kept) and the margin per video."""
    margin = bucket["revenue_usd"] - bucket["cost_usd"]
    bucket["margin"] = round(margin / bucket["revenue_usd"], 4) if bucket["revenue_usd"] else None
    bucket["margin_per_video_usd"] = round(margin / bucket["videos"], 4) if bucket["videos"] else None
    for key in ("revenue_usd", "cost_usd", "kie_credits"):
        bucket[key] = round(bucket[key], 4)
    return bucket
