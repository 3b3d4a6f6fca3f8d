"""Referrals end to end (issue 22): /invite gives a seller their link; a new
seller who opens it and makes a first purchase earns the inviter a bonus (told
in their chat) — once, never for the sign-up or a second purchase; a link to
oneself, to an unknown code, or opened by a seller who already had an account
is answered plainly and credits nothing; an operator's refund of that purchase
takes the bonus back.  The real bot on both databases; the audit clean after."""

from __future__ import annotations

import re

import httpx
import pytest

from neurocards.models import LedgerEntry, LedgerKind, User
from neurocards.money.audit import audit
from neurocards.settings import SANDBOX_BOT_TOKEN, load_settings
from tests.bot_fixtures import ADMIN_ID, Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.test_bot_payments import invoice_of, paid, receipt

pytestmark = [pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module"),
              pytest.mark.usefixtures("bot")]

LINK = re.compile(r"https://t\.me/(\w+)\?start=(ref_[a-z0-9]{8})")


def welcome() -> int:
    return load_settings().credits.welcome  # (the stack's settings: its environment is the test's)


def terms():
    return load_settings().credits.referral


def bot_username(stack) -> str:
    """What Telegram's getMe says the bot is called."""
    return httpx.get(f"{stack.telegram.url}/bot{SANDBOX_BOT_TOKEN}/getMe").json()["result"]["username"]


def invitation(chat: Chat) -> str:
    """/invite: the ``start`` parameter of the seller's link."""
    chat.command("invite")
    answer = chat.tg.wait_for(lambda t: [e for e in chat.messages() if LINK.search(e.get("text", ""))],
                              chat_id=chat.id)[-1]["text"]
    bot_name, parameter = LINK.search(answer).groups()
    assert answer == chat.t("invite", link=f"https://t.me/{bot_name}?start={parameter}", bonus=terms().bonus,
                            cap=terms().max_per_month)
    assert bot_name == bot_username(chat.stack)
    return parameter


def opens(chat: Chat, parameter: str) -> None:
    """The seller opens an invitation link: ``/start <parameter>``."""
    chat.command("start", parameter)


def start_reply(chat: Chat, reason: str, *, new: bool = True) -> str:
    lines = [chat.t("start", price=1, balance=chat.balance() if not new else welcome())]
    if new:
        lines.append(chat.t("start.welcome", credits=welcome()))
    lines.append(chat.t(f"referral.{reason}", bonus=terms().bonus))
    return "\n\n".join(lines)


def bonuses(inviter: Chat) -> list[LedgerEntry]:
    return list(LedgerEntry.select().where((LedgerEntry.user == inviter.id)
                                           & (LedgerEntry.kind == LedgerKind.REFERRAL)))


def purchase(chat: Chat, balance_after: int, nth: int = 1) -> str:
    """The seller's ``nth`` purchase of the 5-credit pack: its charge id."""
    chat.command("buy")
    packs = chat.t("buy.title", price=1)
    chat.tg.wait_for(lambda t: len([e for e in chat.messages() if e.get("text") == packs]) >= nth, chat_id=chat.id)
    chat.press(callback_data="buy:5:50")
    invoice = invoice_of(chat, count=nth)
    outcome = chat.tg.pay(chat.id, invoice["message_id"])
    chat.wait_text(receipt(chat, stars=50, credits=5, balance=balance_after))
    return outcome["telegram_payment_charge_id"]


def test_an_invited_sellers_first_purchase_brings_the_inviter_one_bonus(bot):
    # Given a seller's invitation link, opened by a new seller
    inviter = Chat(bot)
    inviter.start()
    parameter = invitation(inviter)
    friend = Chat(bot, "ru")
    opens(friend, parameter)
    friend.wait_text(start_reply(friend, "attached"))
    assert User.get_by_id(friend.id).referred_by == inviter.id and inviter.balance() == welcome()  # no bonus yet

    # When the new seller buys a pack, and later another one
    purchase(friend, balance_after=welcome() + 5)
    inviter.wait_text(inviter.t("referral.bonus", credits=terms().bonus, balance=welcome() + terms().bonus))
    purchase(friend, balance_after=welcome() + 10, nth=2)

    # Then the inviter got the one bonus, and /invite says what the link brought
    assert len(bonuses(inviter)) == 1 and inviter.balance() == welcome() + terms().bonus
    inviter.command("invite")
    inviter.wait_text("\n\n".join([
        inviter.t("invite", link=f"https://t.me/{bot_username(bot)}?start={parameter}",
                  bonus=terms().bonus, cap=terms().max_per_month),
        inviter.t("invite.so_far", joined=1, bonuses=1, credits=terms().bonus)]))
    assert audit()["ok"]


def test_a_link_to_oneself_or_to_no_one_or_for_an_existing_seller_credits_nothing(bot):
    inviter = Chat(bot)
    inviter.start()
    parameter = invitation(inviter)

    # one's own link
    opens(inviter, parameter)
    inviter.wait_text(start_reply(inviter, "self", new=False))
    # a code no one has, and one that is not a code at all
    stranger = Chat(bot)
    opens(stranger, "ref_zzzzzzzz")
    stranger.wait_text(start_reply(stranger, "unknown"))
    mangled = Chat(bot)
    opens(mangled, "ref_<b>x</b>")
    mangled.wait_text(start_reply(mangled, "unknown"))
    # a seller who had an account before opening the link
    existing = Chat(bot)
    existing.start()
    opens(existing, parameter)
    existing.wait_text(start_reply(existing, "existing", new=False))

    for chat in (inviter, stranger, mangled, existing):
        assert User.get_by_id(chat.id).referred_by is None
    purchase(existing, balance_after=welcome() + 5)
    assert bonuses(inviter) == [] and inviter.balance() == welcome()
    assert audit()["ok"]


def test_an_operators_refund_of_the_first_purchase_takes_the_bonus_back(bot):
    # Given an invited seller whose first purchase brought the inviter a bonus
    inviter = Chat(bot)
    inviter.start()
    friend = Chat(bot)
    opens(friend, invitation(inviter))
    friend.wait_text(start_reply(friend, "attached"))
    charge = purchase(friend, balance_after=welcome() + 5)
    inviter.wait_text(inviter.t("referral.bonus", credits=terms().bonus, balance=welcome() + terms().bonus))

    # When an operator refunds that purchase
    admin = Chat(bot, user_id=ADMIN_ID)
    admin.command("refund", charge)
    admin.wait_text(f"Refunded ⭐50 to {friend.id}; 5 credits taken back, balance now {welcome()}.")

    # Then the bonus went back with it, once, and the ledger adds up
    assert paid(friend, charge).status == "refunded"
    assert inviter.balance() == welcome()
    assert LedgerEntry.select().where(LedgerEntry.kind == LedgerKind.REFERRAL_UNDO).count() == 1
    assert audit()["ok"]
