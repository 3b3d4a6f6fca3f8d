"""Operator commands, for ``telegram.admin_ids`` only (the :class:`IsAdmin`
filter): /stats, /grant, /job, /refund, /promo new and /promo list.  Anyone
else falls through to the unknown-command answer (and ``/promo`` to a seller's
redemption)."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import uuid

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from redis.asyncio import Redis

from ... import jobs
from ...models import ACTIVE_STATUSES, PaymentStatus, User, utcnow
from ...money import credits, payments, promos, referrals
from ...queues import read_depths_async
from ...settings import Settings
from ...stats import stats
from ..filters import IsAdmin

router = Router(name="admin")
router.message.filter(IsAdmin())


@router.message(Command("stats"))
async def show_stats(message: Message, redis: Redis) -> None:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    report = await asyncio.to_thread(stats, since=today)
    by_status = report["jobs"]["by_status"]
    in_flight = sum(by_status.get(status, 0) for status in ACTIVE_STATUSES)
    depths = await read_depths_async(redis)
    lines = [
        f"<b>Today (UTC)</b>: {report['jobs']['total']} jobs",
        f"done {by_status['done']}, failed {by_status['failed']}, in flight {in_flight}",
        f"credits: debited {report['credits']['debited']}, refunded {report['credits']['refunded']}",
        "queues: " + ", ".join(f"{queue} {state} {count}" for (queue, state), count in depths.items()),
        f"sellers: {report['users']}",
    ]
    await message.answer("\n".join(lines))


@router.message(Command("grant"))
async def grant_credits(message: Message, command: CommandObject) -> None:
    parts = (command.args or "").split(maxsplit=2)
    if len(parts) < 2 or not all(part.lstrip("-").isdigit() for part in parts[:2]) or int(parts[1]) == 0:
        await message.answer("Usage: /grant &lt;telegram_id&gt; &lt;credits&gt; [why] "
                             "(credits may be negative, not 0)")
        return
    user_id, amount = int(parts[0]), int(parts[1])
    why = parts[2] if len(parts) > 2 else ""
    await message.answer(await asyncio.to_thread(_grant, user_id, amount, message.from_user.id, why))


def _grant(user_id: int, amount: int, admin_id: int, why: str) -> str:
    """Grant (or take back) credits, recording who and why; the operator's answer (in a thread)."""
    if User.get_or_none(User.id == user_id) is None:
        return f"No seller with id {user_id}."
    try:
        credits.grant(user_id, amount, reason=f"admin {admin_id} via /grant" + (f": {why}" if why else ""))
    except credits.InsufficientCredits as exc:
        return f"Refused: seller {user_id} has only {exc.balance} credits."
    return f"Granted {amount:+d} to {user_id}; balance now {credits.balance_of(user_id)}."


PROMO_USAGE = ("Usage: /promo new &lt;CODE&gt; &lt;credits&gt; &lt;uses&gt; &lt;days or YYYY-MM-DD&gt;, "
               "e.g. /promo new SPRING 3 500 30; /promo list")

PROMO_REFUSED = {
    "bad_code": "Refused: a code is 3-32 letters, digits, - or _.",
    "bad_credits": "Refused: credits per seller must be 1-{limit}.",
    "bad_uses": "Refused: uses must be 1-{limit}.",
    "bad_expiry": "Refused: the expiry must be in the future and at most {limit} days ahead.",
    "exists": "Refused: that code exists already.",
}


@router.message(Command("promo", magic=F.args.regexp(r"^\s*(new|list)\b")))
async def promo_admin(message: Message, command: CommandObject, settings: Settings) -> None:
    words = command.args.split()
    if words[0] == "list":
        await message.answer(await asyncio.to_thread(_promo_list))
        return
    if len(words) != 5 or not all(word.lstrip("-").isdigit() for word in words[2:4]):
        await message.answer(PROMO_USAGE)
        return
    expires_at = _expiry(words[4])
    if expires_at is None:
        await message.answer(PROMO_USAGE)
        return
    limits = settings.credits.promo
    try:
        promo = await asyncio.to_thread(promos.create, words[1], int(words[2]), int(words[3]), expires_at,
                                        message.from_user.id, limits)
    except promos.PromoRefused as refused:
        await message.answer(PROMO_REFUSED[refused.reason].format(**refused.details))
        return
    await message.answer(f"Promo code <code>{html.escape(promo.code)}</code>: {promo.credits} cr. each, "
                         f"{promo.max_uses} uses, until {_when(promo.expires_at)}. "
                         f"Sellers redeem it with /promo {html.escape(promo.code)}")


def _expiry(word: str) -> dt.datetime | None:
    """``30``: in 30 days; ``2026-12-31``: the end of that day (UTC); else None."""
    if word.isdigit() and len(word) <= 5:
        return utcnow() + dt.timedelta(days=int(word))
    try:
        day = dt.date.fromisoformat(word)
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time.max)


def _promo_list() -> str:
    rows = promos.codes()
    if not rows:
        return "No promo codes yet. " + PROMO_USAGE
    return "\n".join(f"<code>{html.escape(p.code)}</code>: {p.credits} cr., {p.uses}/{p.max_uses} used, "
                     f"until {_when(p.expires_at)}" for p in rows)


@router.message(Command("job"))
async def show_job(message: Message, command: CommandObject) -> None:
    job = await asyncio.to_thread(jobs.get_job, (command.args or "").strip())
    if job is None:
        await message.answer("Usage: /job &lt;job id&gt; (no such job)")
        return
    lines = [
        f"<b>Job</b> <code>{job.id}</code>",
        f"seller {job.user_id}, status <b>{job.status}</b>",
        f"KIE task {html.escape(job.kie_task_id) or '—'}, attempts {job.kie_attempts}, deliveries {job.delivery_attempts}",
    ]
    lines += [f"{status}: {_when(at)}" for status, at in jobs.stage_stamps(job)]
    lines += [f"{stage}: {seconds:.1f} s" for stage, seconds in jobs.stage_durations(job).items()]
    if job.error_class:
        lines.append(f"error: {job.error_class} — {html.escape(job.error_detail[:300])}")
    await message.answer("\n".join(lines))


def _when(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}"


#: Telegram's answer when the Stars went back already: the refund is done.
ALREADY_REFUNDED = payments.ALREADY_REFUNDED


@router.message(Command("refund"))
async def refund_payment(message: Message, command: CommandObject, bot: Bot) -> None:
    """Give a payment's Stars back: its credits are taken back first (never below
    zero), then ``refundStarPayment``; if Telegram refuses, the credits return.
    One refund of a charge at a time, whoever else is refunding it
    (:func:`payments.claim_refund`)."""
    charge_id = (command.args or "").strip()
    if not charge_id:
        await message.answer("Usage: /refund &lt;telegram_payment_charge_id&gt;")
        return
    admin = message.from_user.id
    payment = await asyncio.to_thread(payments.find, charge_id)
    if payment is None:
        await message.answer(f"No payment with charge id <code>{html.escape(charge_id)}</code>.")
        return
    holder = f"admin:{admin}:{uuid.uuid4().hex[:12]}"
    if not await asyncio.to_thread(payments.claim_refund, payment.id, holder):
        payment = await asyncio.to_thread(payments.find, charge_id)
        if payment.status == PaymentStatus.REFUNDED:
            await message.answer(f"Already refunded on {_when(payment.refunded_at)}.")
        else:
            await message.answer(f"A refund of this payment is already under way (since "
                                 f"{_when(payment.refund_claimed_at)} UTC); see how it ends before trying again.")
        return
    try:
        await message.answer(await _refund_claimed(bot, charge_id, f"admin {admin} via /refund"))
    finally:
        await asyncio.to_thread(payments.release_refund, payment.id, holder)


async def _refund_claimed(bot: Bot, charge_id: str, reason: str) -> str:
    """The refund itself, its claim held; the operator's answer."""
    payment = await asyncio.to_thread(payments.find, charge_id)  # as it is now that the refund is ours
    if payment.status == PaymentStatus.REFUNDED:
        return f"Already refunded on {_when(payment.refunded_at)}."
    taken = None
    if payment.credits:
        try:
            taken = await asyncio.to_thread(payments.take_back, payment, reason)
        except credits.InsufficientCredits as exc:
            return (f"Refused: seller {payment.user_id} has {exc.balance} credits left of the "
                    f"{payment.credits} this payment bought; a refund would take them below zero.")
    try:
        await bot.refund_star_payment(user_id=payment.user_id, telegram_payment_charge_id=charge_id)
    except TelegramBadRequest as exc:
        if ALREADY_REFUNDED not in exc.message:
            if taken is not None:
                await asyncio.to_thread(payments.give_back, taken, f"{reason}: Telegram refused ({exc.message})")
            return f"Telegram refused the refund: {html.escape(exc.message)}. Credits left as they were."
    except TelegramAPIError as exc:  # no answer we can read: the Stars may or may not have gone back
        return (f"Telegram did not answer the refund ({html.escape(type(exc).__name__)}); the credits stay taken "
                f"back. Send /refund {html.escape(charge_id)} again: it finishes this refund, never a second one.")
    await asyncio.to_thread(payments.mark_refunded, charge_id)
    await asyncio.to_thread(referrals.take_back_bonus, charge_id)  # (once: keyed by the invited seller)
    balance = await asyncio.to_thread(credits.balance_of, payment.user_id)
    return (f"Refunded ⭐{payment.stars} to {payment.user_id}; {payment.credits} credits taken back, "
            f"balance now {balance}.")
