"""What a video is made in: its format (aspect ratio) and quality tier, and so its
KIE model and its price in credits (issue 14).

A seller's photo with a caption is made in the seller's remembered choice
("Options"; the defaults until they pick), a "Generate again" in its parent's.
The price a choice shows is the price :func:`neurocards.jobs.start_job` debits:
both read it here, from the settings (``formats.tiers``; a tier without a model
or price takes ``kie.model`` / ``credits.price``).

Formats are what marketplaces and Reels/Shorts take (``shared/API_FACTS.md`` §6).
Veo makes 16:9 and 9:16 only (§1.3), and so do the market models we call, so a
square, a 3:4 card or a 4:5 post is filmed 9:16 with the product in the middle
(:data:`FILMED_AS`) and cut from that film by the finishing stage
(:mod:`neurocards.media.finishing`): the seller gets exactly the format they chose.
A format is finished for a *preset* (``formats.presets``: Wildberries card, Ozon
card, Reels, ...): its frame, size cap and sound.  The seller picks a preset, which
is its format too; a format named without one takes that format's first preset.
Pure functions of the settings and the rows given, and the labels sellers read:
no database, no I/O.
"""

from __future__ import annotations

import dataclasses
import html

from ..texts import CATALOGUES, DEFAULT_LANGUAGE, text

__all__ = ["ASPECT_RATIOS", "FILMED_AS", "Tier", "Choice", "tiers", "find_tier", "presets", "find_preset",
           "default_aspect_ratio", "choose", "seller_choice", "job_choice", "filmed_as", "ratio_code", "ratio_of_code",
           "refinishes", "format_label", "choice_label", "job_made_in", "preset_label", "preset_button", "tier_label",
           "made_in_label"]

#: The formats a seller can pick, in button order.
ASPECT_RATIOS = ("9:16", "3:4", "4:5", "1:1", "16:9")

#: The aspect ratio KIE is asked for, per format.
FILMED_AS = {"9:16": "9:16", "3:4": "9:16", "4:5": "9:16", "1:1": "9:16", "16:9": "16:9"}


@dataclasses.dataclass(frozen=True)
class Tier:
    name: str
    model: str
    price: int


@dataclasses.dataclass(frozen=True)
class Choice:
    """A tier, a format and the preset it is finished for: what one video is made
    in, and what it costs."""

    tier: Tier
    aspect_ratio: str
    preset: str = ""  # the preset's name ("" only where no settings were at hand)

    @property
    def price(self) -> int:
        return self.tier.price

    @property
    def model(self) -> str:
        return self.tier.model

    @property
    def filmed_as(self) -> str:
        return filmed_as(self.aspect_ratio)


def tiers(settings) -> list[Tier]:
    """The tiers on offer, the default first, with their models and prices filled in."""
    return [Tier(tier.name, tier.model or settings.kie.model, tier.price or settings.credits.price)
            for tier in settings.formats.tiers]


def find_tier(settings, name: str) -> Tier | None:
    return next((tier for tier in tiers(settings) if tier.name == name), None)


def presets(settings) -> list:
    """The presets on offer, in button order (the settings' order)."""
    return list(settings.formats.presets)


def find_preset(settings, name: str):
    return next((preset for preset in settings.formats.presets if preset.name == name), None)


def default_aspect_ratio(settings) -> str:
    ratio = settings.kie.aspect_ratio
    return ratio if ratio in ASPECT_RATIOS else ASPECT_RATIOS[0]


def choose(settings, tier: str = "", aspect_ratio: str = "", preset: str = "") -> Choice:
    """The choice named, with the default for a name no longer (or never) on offer.
    A preset names its format; a format alone takes its first preset."""
    found = find_tier(settings, tier) or tiers(settings)[0]
    named = find_preset(settings, preset)
    if named is not None and (not aspect_ratio or named.aspect_ratio == aspect_ratio):
        return Choice(found, named.aspect_ratio, named.name)
    ratio = aspect_ratio if aspect_ratio in ASPECT_RATIOS else default_aspect_ratio(settings)
    return Choice(found, ratio, settings.formats.preset("", ratio).name)


def seller_choice(settings, user) -> Choice:
    """What the seller's next photo will be made in: their "Options"."""
    return choose(settings, getattr(user, "tier", ""), getattr(user, "aspect_ratio", ""), getattr(user, "preset", ""))


def job_choice(settings, job) -> Choice:
    """A job's tier, format and preset at today's price: what "Generate again" makes."""
    return choose(settings, job.tier, job.aspect_ratio, getattr(job, "preset", ""))


def refinishes(job, choice: Choice) -> bool:
    """True when ``choice`` can be cut from ``job``'s clip as it is: the same tier,
    filmed the same way, only the format or preset changed.  Such a video is made
    without a new KIE task, at no charge ("Another format" on a delivered video)."""
    return (choice.tier.name == job.tier and filmed_as(choice.aspect_ratio) == filmed_as(job.aspect_ratio)
            and (choice.aspect_ratio, choice.preset) != (job.aspect_ratio, job.preset))


def filmed_as(aspect_ratio: str) -> str:
    return FILMED_AS.get(aspect_ratio, aspect_ratio)


def ratio_code(aspect_ratio: str) -> str:
    """"9:16" as it goes into button data, where ":" separates fields: "9x16"."""
    return aspect_ratio.replace(":", "x")


def ratio_of_code(code: str) -> str | None:
    ratio = code.replace("x", ":")
    return ratio if ratio in ASPECT_RATIOS else None


# -- what sellers read ------------------------------------------------------------------


def format_label(language: str, aspect_ratio: str) -> str:
    """"9:16 vertical", "3:4 marketplace card (Wildberries, Ozon)", ... (plain text)."""
    return html.unescape(text(language, f"format.{ratio_code(aspect_ratio)}"))


def preset_label(language: str, preset) -> str:
    """"3:4 Wildberries card": the preset's format and what it is for (plain text)."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    label = catalogue.get(f"preset.{preset.name}", preset.name.replace("_", " ").capitalize())
    return html.unescape(f"{preset.aspect_ratio} {label}")


def preset_button(language: str, preset) -> str:
    """The preset's short name on its button: "3:4 WB"."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    label = catalogue.get(f"preset.short.{preset.name}") or catalogue.get(f"preset.{preset.name}") \
        or preset.name.replace("_", " ").capitalize()
    return html.unescape(f"{preset.aspect_ratio} {label}")


def tier_label(language: str, name: str) -> str:
    """The tier's name in the seller's language ("Fast"), or its settings name."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    return catalogue.get(f"tier.{name}", name.replace("_", " ").capitalize())


def made_in_label(language: str, tier: str, aspect_ratio: str, price: int, preset=None) -> str:
    """"📐 3:4 Wildberries card · Fast · 1 cr.": what a video is made in and what it
    costs (HTML); the format alone where no preset is given."""
    shown = preset_label(language, preset) if preset is not None else format_label(language, aspect_ratio)
    return text(language, "made_in", format=shown, tier=tier_label(language, tier), price=price)


def choice_label(language: str, settings, choice: Choice, price: int | None = None) -> str:
    """:func:`made_in_label` of a choice (at ``price`` if given: a free re-cut shows 0)."""
    return made_in_label(language, choice.tier.name, choice.aspect_ratio, choice.price if price is None else price,
                         find_preset(settings, choice.preset))


def job_made_in(language: str, settings, job) -> str:
    """:func:`made_in_label` of a job as it was started (its tier, format, preset and price)."""
    choice = job_choice(settings, job)
    return made_in_label(language, job.tier or choice.tier.name, choice.aspect_ratio, job.price or 0,
                         find_preset(settings, choice.preset))
