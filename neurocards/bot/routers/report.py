""""Report a problem" (issue 14): under every delivered video a seller can report
it — wrong product, bad quality, garbled text, or something else in a line of
their own.  Operators get a card (:mod:`neurocards.bot.ops_cards`) and settle it
with one tap — "Refund", "Re-run free" or "Dismiss" — once, whoever taps first
(:mod:`neurocards.jobs.reports`); the seller is told the outcome.  The buttons on a
card are for operators only (:class:`IsAdmin`); anyone else is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from ... import jobs, users
from ...context import Context
from ...jobs import reports
from ...jobs.status import info_label
from ...keyboards import (
    JobAction,
    JobActionKind,
    PickReportReason,
    ReportOutcome,
    ResolveReport,
    report_reasons_keyboard,
)
from ...models import Job, JobStatus, Report, ReportReason, User
from ...money import credits
from ...settings import Settings
from ...texts import text
from ..filters import IsAdmin
from ..flow import launch
from ..job_buttons import own_job
from ..ops_cards import send_report_cards

router = Router(name="report")
logger = logging.getLogger("neurocards.bot.report")


class ReportProblem(StatesGroup):
    """Waiting for the seller's own words about what is wrong ("Something else")."""

    comment = State()


@router.callback_query(JobAction.filter(F.action == JobActionKind.REPORT))
async def ask_reason(query: CallbackQuery, callback_data: JobAction, seller: User, lang: str,
                     callback_answer: CallbackAnswer) -> None:
    job = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    if job is None:
        return
    if job.status != JobStatus.DONE:
        callback_answer.text = text(lang, "callback.unknown")
        return
    if await asyncio.to_thread(Report.get_or_none, Report.job == job.id) is not None:
        callback_answer.text, callback_answer.show_alert = text(lang, "report.already"), True
        return
    await query.message.answer(text(lang, "report.ask", info=info_label(job)),
                               reply_markup=report_reasons_keyboard(lang, job.id, ReportReason))


@router.callback_query(PickReportReason.filter())
async def take_reason(query: CallbackQuery, callback_data: PickReportReason, context: Context, bot: Bot,
                      seller: User, lang: str, state: FSMContext, callback_answer: CallbackAnswer) -> None:
    job = await own_job(query, callback_data.job_id, seller, lang, callback_answer)
    if job is None:
        return
    if callback_data.reason not in set(ReportReason):
        callback_answer.text = text(lang, "callback.unknown")
        return
    reason = ReportReason(callback_data.reason)
    if reason == ReportReason.OTHER:
        await state.set_state(ReportProblem.comment)
        await state.update_data(job_id=str(job.id))
        await query.message.edit_text(text(lang, "report.ask_comment", info=info_label(job)))
        return
    await _file(query.message, context, bot, lang, job, reason, "", edit=True)


@router.message(ReportProblem.comment, F.text & ~F.text.startswith("/"))
async def take_comment(message: Message, context: Context, bot: Bot, seller: User, lang: str,
                       state: FSMContext) -> None:
    comment = message.text.strip()
    if not comment:
        await message.answer(text(lang, "report.comment_empty"))
        return
    data = await state.get_data()
    await state.clear()
    job = await asyncio.to_thread(jobs.get_job, data.get("job_id", ""))
    if job is None or job.user_id != seller.id:
        await message.answer(text(lang, "callback.unknown"))
        return
    await _file(message, context, bot, lang, job, ReportReason.OTHER, comment, edit=False)


async def _file(message: Message, context: Context, bot: Bot, lang: str, job: Job, reason: ReportReason,
                comment: str, *, edit: bool) -> None:
    """Record the report (once per job), thank the seller, send the operators their card."""
    try:
        report, created = await asyncio.to_thread(reports.open_report, job, reason, comment)
    except reports.NotReportable:
        await message.answer(text(lang, "callback.unknown"))
        return
    answer = text(lang, "report.received" if created else "report.already", info=info_label(job))
    await (message.edit_text(answer) if edit else message.answer(answer))
    if created:
        logger.info("report %s on job %s: %s", report.id, job.id, reason)
        await send_report_cards(bot, context.settings, report, job)


# -- operators --------------------------------------------------------------------------


_RESOLVERS = {
    ReportOutcome.REFUND: lambda report_id, admin, settings: reports.refund(report_id, admin),
    ReportOutcome.RERUN: lambda report_id, admin, settings: reports.rerun(report_id, admin, settings),
    ReportOutcome.DISMISS: lambda report_id, admin, settings: reports.dismiss(report_id, admin),
}


@router.callback_query(ResolveReport.filter(), IsAdmin())
async def resolve(query: CallbackQuery, callback_data: ResolveReport, context: Context, bot: Bot, lang: str,
                  callback_answer: CallbackAnswer) -> None:
    settings, admin = context.settings, query.from_user.id
    if await asyncio.to_thread(reports.get_report, callback_data.report_id) is None:
        callback_answer.text = text(lang, "callback.unknown")
        return
    try:
        resolution = await asyncio.to_thread(_RESOLVERS[callback_data.outcome], callback_data.report_id, admin,
                                             settings)
    except reports.NothingToRefund:
        callback_answer.text, callback_answer.show_alert = text(lang, "ops.nothing_to_refund"), True
        return
    report = resolution.report
    with contextlib.suppress(TelegramAPIError):  # the card's buttons have done their work
        await query.message.edit_reply_markup(reply_markup=None)
    if not resolution.resolved:
        callback_answer.text = text(lang, "ops.already", status=report.status, admin=report.resolved_by)
        callback_answer.show_alert = True
        return
    logger.info("report %s resolved: %s by admin %s", report.id, report.status, admin)
    await query.message.answer(text(lang, f"ops.resolved.{report.status}", credits=resolution.credits, admin=admin,
                                    job=resolution.job.id if resolution.job else ""))
    await _tell_seller(bot, settings, report, resolution)
    if resolution.job is not None:
        await launch(context, bot, resolution.job)


@router.callback_query(ResolveReport.filter())
async def refuse_non_admin(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    logger.warning("report button pressed by a non-operator: user=%s data=%r", query.from_user.id, query.data)
    callback_answer.text, callback_answer.show_alert = text(lang, "ops.only"), True


async def _tell_seller(bot: Bot, settings: Settings, report: Report, resolution: reports.Resolution) -> None:
    job = await asyncio.to_thread(jobs.get_job, str(report.job_id))
    balance = await asyncio.to_thread(credits.balance_of, report.user_id)
    outcome = text(job.language, f"report.outcome.{report.status}", info=info_label(job), credits=resolution.credits,
                   balance=balance, support=settings.telegram.support_contact)
    try:
        await bot.send_message(job.chat_id, outcome)
    except TelegramForbiddenError:
        await asyncio.to_thread(users.mark_blocked, report.user_id)
