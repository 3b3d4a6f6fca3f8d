"""Promo codes end to end (issue 22): an operator makes a code with /promo new,
sellers redeem it with /promo CODE once each, within its uses; every bad input
(an unknown code, one used twice or used up, an operator's values out of
bounds, a seller trying the operator's command) gets a plain answer and credits
nothing.  The real bot on both databases; the audit clean after each test."""

from __future__ import annotations

import pytest

from neurocards.models import LedgerEntry, PromoCode
from neurocards.sandbox.telegram_client import TelegramSandboxError
from tests.bot_fixtures import ADMIN_ID, Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module"),
              pytest.mark.usefixtures("bot")]


def last_text(chat) -> str:
    return chat.messages()[-1].get("text", "")


def answer_to(chat, command: str, args: str = "") -> str:
    try:
        before = len(chat.messages())
    except TelegramSandboxError:  # the chat's first message: no transcript yet
        before = 0
    chat.command(command, args)
    chat.tg.wait_for(lambda t: len(chat.messages()) > before, chat_id=chat.id)
    return last_text(chat)


def test_an_operator_makes_a_code_and_sellers_redeem_it_once_each_within_its_uses(bot):
    # Given an operator who makes a code for 2 credits, 2 uses, 30 days
    admin = Chat(bot, user_id=ADMIN_ID)
    made = answer_to(admin, "promo", "new launch 2 2 30")
    assert made.startswith("Promo code LAUNCH: 2 cr. each, 2 uses, until ")
    promo = PromoCode.get_by_id("LAUNCH")
    assert (promo.credits, promo.max_uses, promo.uses, promo.created_by) == (2, 2, 0, ADMIN_ID)

    # When a seller redeems it (in lower case), and then again
    first = Chat(bot)
    first.start()
    balance = first.balance()
    assert answer_to(first, "promo", "launch") == first.t("promo.redeemed", code="LAUNCH", credits=2,
                                                          balance=balance + 2)
    assert answer_to(first, "promo", "LAUNCH") == first.t("promo.already", code="LAUNCH")

    # and a second seller takes the last use, a third finds none left
    second, third = Chat(bot, "ru"), Chat(bot)
    second.start()
    third.start()
    assert answer_to(second, "promo", "LAUNCH") == second.t("promo.redeemed", code="LAUNCH", credits=2,
                                                            balance=second.balance())
    assert answer_to(third, "promo", "LAUNCH") == third.t("promo.used_up", code="LAUNCH")

    # Then each of the two was credited once, through the ledger, and the operator's list says so
    assert first.balance() == balance + 2 and third.balance() == balance
    entries = LedgerEntry.select().where(LedgerEntry.kind == "promo")
    assert sorted((e.user_id, e.amount) for e in entries) == sorted([(first.id, 2), (second.id, 2)])
    assert "LAUNCH: 2 cr., 2/2 used" in answer_to(admin, "promo", "list")


@pytest.mark.parametrize("args, key", [("", "promo.usage"), ("NOSUCH", "promo.unknown"),
                                       ("<b>bold</b>", "promo.unknown"), ("new FREE 100 1 30", "promo.unknown")])
def test_a_seller_with_no_code_an_unknown_one_or_the_operators_command_gets_nothing(bot, args, key):
    chat = Chat(bot)
    chat.start()
    balance = chat.balance()
    code = args.strip().upper()[:32]
    assert answer_to(chat, "promo", args) == chat.t(key, code=code)
    assert chat.balance() == balance and PromoCode.select().where(PromoCode.code == "FREE").count() == 0


OUT_OF_BOUNDS = [
    ("new GIFT 0 10 30", "Refused: credits per seller must be 1-100."),
    ("new GIFT -5 10 30", "Refused: credits per seller must be 1-100."),
    ("new GIFT 99999999 10 30", "Refused: credits per seller must be 1-100."),
    ("new GIFT 5 0 30", "Refused: uses must be 1-100000."),
    ("new GIFT 5 10 0", "Refused: the expiry must be in the future and at most 365 days ahead."),
    ("new GIFT 5 10 2001-01-01", "Refused: the expiry must be in the future and at most 365 days ahead."),
    ("new GIFT 5 10 99999", "Refused: the expiry must be in the future and at most 365 days ahead."),
    ("new NO 5 10 30", "Refused: a code is 3-32 letters, digits, - or _."),
    ("new GIFT five 10 30", None),
    ("new GIFT 5 10 someday", None),
    ("new GIFT 5", None),
]
#: An operator per case: one operator's dozen commands in a row would meet the bot's throttle.
ADMIN_IDS = (ADMIN_ID, *range(990_000_100, 990_000_100 + len(OUT_OF_BOUNDS)))


@pytest.mark.parametrize("n, args, answer", [(n, *case) for n, case in enumerate(OUT_OF_BOUNDS)])
def test_an_operators_values_out_of_bounds_make_no_code(bot, n, args, answer):
    admin = Chat(bot, user_id=ADMIN_IDS[1 + n])
    said = answer_to(admin, "promo", args)
    if answer:
        assert said == answer
    else:
        assert said.startswith("Usage: /promo new <CODE>"), said
    assert PromoCode.select().where(PromoCode.code.in_(["GIFT", "NO"])).count() == 0
