"""Buttons and typed callback data, in one place below the bot and the workers
(both put buttons under their messages; only the bot reads presses).

Telegram allows 64 bytes of callback data and our factories put ":" between
fields, so a job id travels as 32 hex digits, a format as its preset's name (a
preset is its format too) and tier and preset names are short (the settings
check it: the longest "Start" still fits)."""

from __future__ import annotations

import enum
import uuid

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from .jobs.formats import Choice, Tier, preset_button, preset_label, tier_label
from .texts import text

__all__ = ["JobAction", "JobActionKind", "BuyPack", "ShowPacks", "SkipInfo", "PickStyle", "NO_STYLE", "styles_keyboard",
           "SuggestIdeas", "PickIdea", "SeveralVideos", "ConfirmBatch", "AlbumAsOne", "several_keyboard",
           "batch_keyboard",
           "packs_keyboard", "buy_keyboard", "SetLanguage", "again_keyboard", "try_again_keyboard", "skip_keyboard",
           "language_keyboard", "status_keyboard", "video_keyboard", "Regenerate", "RegeneratePick",
           "regenerate_keyboard", "ShowOptions", "PickOption", "OptionsDone", "options_button", "options_keyboard",
           "SubscriptionAction", "subscribe_keyboard", "subscription_keyboard",
           "PickReportReason", "report_reasons_keyboard", "ResolveReport", "ReportOutcome", "resolve_keyboard",
           "BroadcastAction", "broadcast_keyboard"]


class JobActionKind(enum.StrEnum):
    AGAIN = "again"  # a new job from the same photo and description
    RESEND = "resend"  # the delivered video once more, at no charge
    EDIT = "edit"  # a new job from the same photo with a new description (asked for)
    FORMAT = "format"  # a new job in another format or tier (a panel to pick them)
    REPORT = "report"  # "Report a problem" with a delivered video


class JobAction(CallbackData, prefix="job"):
    """A button about one job."""

    action: JobActionKind
    job_id: str


class ShowPacks(CallbackData, prefix="packs"):
    """"Buy credits": show the packs on sale."""


class BuyPack(CallbackData, prefix="buy"):
    """One pack's button: its credits and price in Stars (checked against the packs on sale)."""

    credits: int
    stars: int


class SkipInfo(CallbackData, prefix="skip"):
    """"Skip" under the question for a product description."""


class PickStyle(CallbackData, prefix="style"):
    """One style's button under "Pick a look": its name ("none": no style) and the
    message id of the photo it is for (an old picker's button is recognised)."""

    name: str
    photo: int


#: The style name of "No style".
NO_STYLE = "none"


class SuggestIdeas(CallbackData, prefix="ideas"):
    """"Suggest ideas" under "Pick a look", for the photo ``photo``."""

    photo: int


class PickIdea(CallbackData, prefix="idea"):
    """One suggested idea's button: its place in the list kept with the request."""

    index: int
    photo: int


class SeveralVideos(CallbackData, prefix="several"):
    """"Several videos of this product" under "Pick a look": ``count`` 0 asks how many."""

    photo: int
    count: int = 0


class ConfirmBatch(CallbackData, prefix="batch"):
    """The one confirmation of a batch: its size and the total it was offered at."""

    photo: int
    count: int
    total: int


class AlbumAsOne(CallbackData, prefix="asone"):
    """An album of 4-10 photos taken as one product after all (its first three)."""

    photo: int


def several_keyboard(language: str, photo: int, most: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for count in range(2, most + 1):
        builder.button(text=str(count), callback_data=SeveralVideos(photo=photo, count=count))
    return builder.adjust(4).as_markup()


def batch_keyboard(language: str, photo: int, count: int, total: int, *, as_one: bool = False) -> InlineKeyboardMarkup:
    """"Make N videos · T cr.", then "Buy credits" (top up and continue) and, for an
    album, "One product: use the first 3"."""
    builder = InlineKeyboardBuilder()
    builder.button(text=text(language, "batch.confirm", count=count, total=total),
                   callback_data=ConfirmBatch(photo=photo, count=count, total=total))
    builder.button(text=text(language, "button.buy"), callback_data=ShowPacks())
    if as_one:
        builder.button(text=text(language, "batch.as_one"), callback_data=AlbumAsOne(photo=photo))
    return builder.adjust(1).as_markup()


def styles_keyboard(language: str, catalogue, last: str, photo: int, *, ideas: bool = False,
                    suggested=(), several: bool = False) -> InlineKeyboardMarkup:
    """The ideas suggested (one a row), a button per style, then "No style" (the
    seller's last pick marked ✓ and first) and, where offered, "Suggest ideas"."""
    builder = InlineKeyboardBuilder()
    for index, idea in enumerate(suggested):
        builder.button(text=f"💡 {idea}", callback_data=PickIdea(index=index, photo=photo))
    ordered = sorted(catalogue, key=lambda style: style.name != last)
    for style in ordered:
        mark = "✓ " if style.name == last else ""
        builder.button(text=mark + style.label(language), callback_data=PickStyle(name=style.name, photo=photo))
    none_mark = "✓ " if not last else ""
    builder.button(text=none_mark + text(language, "style.none"), callback_data=PickStyle(name=NO_STYLE, photo=photo))
    if ideas and not suggested:
        builder.button(text=text(language, "button.ideas"), callback_data=SuggestIdeas(photo=photo))
    if several:
        builder.button(text=text(language, "button.several"), callback_data=SeveralVideos(photo=photo))
    return builder.adjust(*([1] * len(suggested)), 2).as_markup()


class SetLanguage(CallbackData, prefix="lang"):
    language: str


def _one_button(label: str, data: CallbackData) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=data)
    return builder.as_markup()


def status_keyboard(language: str, job_id) -> InlineKeyboardMarkup:
    """Under the status message: "Generate again"."""
    return _one_button(text(language, "button.again"), JobAction(action=JobActionKind.AGAIN, job_id=str(job_id)))


def video_keyboard(language: str, job_id) -> InlineKeyboardMarkup:
    """Under a delivered video: the regenerate panel — again as it is, again with a
    new description, in another format or tier — and "Report a problem"."""
    builder = InlineKeyboardBuilder()
    for key, kind in (("button.again", JobActionKind.AGAIN), ("button.edit", JobActionKind.EDIT),
                      ("button.format", JobActionKind.FORMAT), ("button.report", JobActionKind.REPORT)):
        builder.button(text=text(language, key), callback_data=JobAction(action=kind, job_id=str(job_id)))
    return builder.adjust(2, 1, 1).as_markup()


#: The name the delivering actor knows the delivered video's keyboard by.
again_keyboard = video_keyboard


def try_again_keyboard(language: str, job_id) -> InlineKeyboardMarkup:
    return _one_button(text(language, "button.try_again"), JobAction(action=JobActionKind.AGAIN, job_id=str(job_id)))


def skip_keyboard(language: str) -> InlineKeyboardMarkup:
    return _one_button(text(language, "button.skip"), SkipInfo())


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="Русский", callback_data=SetLanguage(language="ru"))
    builder.button(text="English", callback_data=SetLanguage(language="en"))
    return builder.adjust(2).as_markup()


def packs_keyboard(language: str, packs, price: int) -> InlineKeyboardMarkup:
    """A button per pack: credits, Stars and the Stars one video comes to."""
    builder = InlineKeyboardBuilder()
    for pack in packs:
        per_video = round(pack.stars * price / pack.credits, 1)
        label = text(language, "buy.pack", credits=pack.credits, stars=pack.stars,
                     per_video=int(per_video) if per_video == int(per_video) else per_video)
        builder.button(text=label, callback_data=BuyPack(credits=pack.credits, stars=pack.stars))
    return builder.adjust(1).as_markup()


def buy_keyboard(language: str) -> InlineKeyboardMarkup:
    return _one_button(text(language, "button.buy"), ShowPacks())


# -- formats and tiers ------------------------------------------------------------------


class ShowOptions(CallbackData, prefix="options"):
    """"Options": the seller's format and tier."""


class PickOption(CallbackData, prefix="opt"):
    """One choice on the Options panel: remembered at once."""

    tier: str
    preset: str  # a preset's name: its format too


class OptionsDone(CallbackData, prefix="optok"):
    """"Done" under the Options panel."""


class RegeneratePick(CallbackData, prefix="rp"):
    """A preset or tier picked on a video's "another format or tier" panel."""

    job_id: uuid.UUID
    tier: str
    preset: str


class Regenerate(CallbackData, prefix="rg"):
    """Start a new job from ``job_id`` in this tier and preset, at the price the
    button showed (0: cut from the same clip; a changed price is refused, never
    charged)."""

    job_id: uuid.UUID
    tier: str
    preset: str
    price: int


def _checked(label: str, on: bool) -> str:
    return f"✓ {label}" if on else label


#: Preset buttons per row on a panel.
PRESETS_PER_ROW = 3


def _choice_rows(builder: InlineKeyboardBuilder, language: str, tiers: list[Tier], presets: list, current: Choice,
                 data) -> list[int]:
    """Rows of presets (each a format) and a row of tiers, the current ones ticked;
    ``data(tier, preset)`` makes each button's data.  Returns the rows' widths."""
    for preset in presets:
        builder.button(text=_checked(preset_button(language, preset), preset.name == current.preset),
                       callback_data=data(current.tier.name, preset.name))
    for tier in tiers:
        label = text(language, "options.tier", tier=tier_label(language, tier.name), price=tier.price)
        builder.button(text=_checked(label, tier.name == current.tier.name),
                       callback_data=data(tier.name, current.preset))
    full, rest = divmod(len(presets), PRESETS_PER_ROW)
    return [PRESETS_PER_ROW] * full + ([rest] if rest else []) + [len(tiers)]


def options_button(language: str, current: Choice) -> InlineKeyboardMarkup:
    """"⚙️ Options: 9:16 · Fast · 1 cr.": what a photo sent now is made in, at what price."""
    label = text(language, "button.options", format=current.aspect_ratio, tier=tier_label(language, current.tier.name),
                 price=current.price)
    return _one_button(label, ShowOptions())


def options_keyboard(language: str, tiers: list[Tier], presets: list, current: Choice) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    rows = _choice_rows(builder, language, tiers, presets, current,
                        lambda tier, preset: PickOption(tier=tier, preset=preset))
    builder.button(text=text(language, "button.done"), callback_data=OptionsDone())
    return builder.adjust(*rows, 1).as_markup()


def regenerate_keyboard(language: str, job_id, tiers: list[Tier], presets: list, current: Choice,
                        price: int) -> InlineKeyboardMarkup:
    """Pick a preset and a tier for a new video from this one, then start it at
    ``price`` (0 when it is cut from this video's clip)."""
    job_id = uuid.UUID(str(job_id))
    builder = InlineKeyboardBuilder()
    rows = _choice_rows(builder, language, tiers, presets, current,
                        lambda tier, preset: RegeneratePick(job_id=job_id, tier=tier, preset=preset))
    shown = next((p for p in presets if p.name == current.preset), None)
    builder.button(text=text(language, "button.start_free" if price == 0 else "button.start",
                             format=preset_label(language, shown) if shown is not None else current.aspect_ratio,
                             tier=tier_label(language, current.tier.name), price=price),
                   callback_data=Regenerate(job_id=job_id, tier=current.tier.name, preset=current.preset, price=price))
    return builder.adjust(*rows, 1).as_markup()


# -- "Report a problem" -------------------------------------------------------------------


class PickReportReason(CallbackData, prefix="rr"):
    job_id: str
    reason: str  # a ReportReason


class ReportOutcome(enum.StrEnum):
    REFUND = "refund"
    RERUN = "rerun"
    DISMISS = "dismiss"


class ResolveReport(CallbackData, prefix="rs"):
    """An operator's one tap on a report card (operators only)."""

    report_id: int
    outcome: ReportOutcome


def report_reasons_keyboard(language: str, job_id, reasons) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for reason in reasons:
        builder.button(text=text(language, f"report.reason.{reason}"),
                       callback_data=PickReportReason(job_id=str(job_id), reason=str(reason)))
    return builder.adjust(2).as_markup()


def resolve_keyboard(language: str, report_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for outcome in ReportOutcome:
        builder.button(text=text(language, f"ops.button.{outcome}"),
                       callback_data=ResolveReport(report_id=report_id, outcome=outcome))
    return builder.adjust(3).as_markup()


# -- broadcasts ---------------------------------------------------------------------------


class BroadcastAction(CallbackData, prefix="bc"):
    """"Send" or "Cancel" under a broadcast's preview (operators only)."""

    broadcast_id: int
    send: bool


def broadcast_keyboard(language: str, broadcast_id: int, audience: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text(language, "broadcast.button.send", count=audience),
                   callback_data=BroadcastAction(broadcast_id=broadcast_id, send=True))
    builder.button(text=text(language, "broadcast.button.cancel"),
                   callback_data=BroadcastAction(broadcast_id=broadcast_id, send=False))
    return builder.adjust(2).as_markup()


# -- subscriptions ------------------------------------------------------------------------


class SubscriptionAction(CallbackData, prefix="sub"):
    """"Cancel" or "Resume" under a seller's plan (/subscription)."""

    subscription_id: int
    cancel: bool


def subscribe_keyboard(language: str, link: str, stars: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text(language, "subscription.button.subscribe", stars=stars), url=link)
    return builder.as_markup()


def subscription_keyboard(language: str, subscription_id: int, cancel: bool) -> InlineKeyboardMarkup:
    key = "subscription.button.cancel" if cancel else "subscription.button.resume"
    return _one_button(text(language, key), SubscriptionAction(subscription_id=subscription_id, cancel=cancel))
