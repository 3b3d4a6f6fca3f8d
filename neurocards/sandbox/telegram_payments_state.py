"""What the Telegram stand-in remembers of one bot's Telegram Stars: the invoices it sent, the
pre-checkout queries waiting for its answer, the charges users paid, and its Star transactions.

The charge is the payment's identity (``telegram_payment_charge_id``, ``API_FACTS.md`` §5): a
refund names it, and getStarTransactions lists the payment and its refund under that one id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import secrets
import time
from typing import Any

from .telegram_spec import BadCall

__all__ = ["Invoice", "Checkout", "Charge", "Subscription", "StarLedger", "CURRENCY", "SUBSCRIPTION_PERIOD_S"]

#: The only currency of digital goods in Telegram: Stars.
CURRENCY = "XTR"
#: The one subscription period Telegram takes (createInvoiceLink's ``subscription_period``): 30 days.
SUBSCRIPTION_PERIOD_S = 2_592_000


@dataclasses.dataclass(eq=False)
class Invoice:
    """An invoice message the bot sent: what paying it costs and says, and the charge once paid."""

    chat_id: int
    message_id: int  # 0 for a payment through an invoice link
    total_amount: int
    payload: str
    charge_id: str | None = None
    subscription_period: int | None = None  # a subscription's invoice link: seconds between payments


@dataclasses.dataclass(eq=False)
class Checkout:
    """A pre_checkout_query delivered to the bot; ``ok`` is None until the bot answers, and
    ``expired`` is set once the wait for the answer is over."""

    id: str
    invoice: Invoice
    created: float = dataclasses.field(default_factory=time.monotonic)
    ok: bool | None = None
    error_message: str | None = None
    expired: bool = False
    answered: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def open(self, timeout_s: float) -> bool:
        """The bot may still answer: not answered, not given up on, and within ``timeout_s``."""
        return self.ok is None and not self.expired and time.monotonic() - self.created <= timeout_s

    def answer(self, ok: bool, error_message: str | None) -> None:
        self.ok, self.error_message = ok, error_message
        self.answered.set()


@dataclasses.dataclass(eq=False)
class Charge:
    """A Stars payment the bot received, and when it was refunded (None: not refunded)."""

    telegram_payment_charge_id: str
    provider_payment_charge_id: str
    user: dict[str, Any]
    invoice: Invoice
    date: int
    refund_date: int | None = None
    subscription: Subscription | None = None  # the subscription this charge paid a period of
    is_first_recurring: bool = False
    subscription_expiration_date: int | None = None

    def view(self) -> dict[str, Any]:
        """The charge as the control API shows it."""
        view = {
            "telegram_payment_charge_id": self.telegram_payment_charge_id,
            "provider_payment_charge_id": self.provider_payment_charge_id,
            "user_id": self.user["id"], "chat_id": self.invoice.chat_id, "invoice_message_id": self.invoice.message_id,
            "currency": CURRENCY, "total_amount": self.invoice.total_amount, "invoice_payload": self.invoice.payload,
            "date": self.date, "refunded": self.refund_date is not None, "refund_date": self.refund_date,
        }  # fmt: skip
        if self.subscription is not None:  # a month of a subscription: which, and until when
            view.update(subscription=self.subscription.first_charge_id,
                        subscription_expiration_date=self.subscription_expiration_date)
        return view


@dataclasses.dataclass(eq=False)
class Subscription:
    """A user's subscription through an invoice link: paid for one period at a time, until the
    user or the bot cancels it (it runs to the end of the period paid) or a renewal fails."""

    first_charge_id: str
    user_id: int
    link: str
    invoice: Invoice  # the link's terms: price, payload, period
    expiration_date: int  # Unix time: the end of the period paid
    canceled_by_bot: bool = False
    canceled_by_user: bool = False
    lapsed: bool = False  # a renewal failed (the user had not the Stars): nothing more is charged
    charge_ids: list[str] = dataclasses.field(default_factory=list)

    @property
    def renews(self) -> bool:
        return not (self.canceled_by_bot or self.canceled_by_user or self.lapsed)

    def view(self) -> dict[str, Any]:
        return {"first_charge_id": self.first_charge_id, "user_id": self.user_id, "link": self.link,
                "total_amount": self.invoice.total_amount, "period": self.invoice.subscription_period,
                "expiration_date": self.expiration_date, "canceled_by_bot": self.canceled_by_bot,
                "canceled_by_user": self.canceled_by_user, "lapsed": self.lapsed, "renews": self.renews,
                "charge_ids": list(self.charge_ids)}  # fmt: skip


class StarLedger:
    """One bot's Stars: invoices by (chat_id, message_id), open checkouts, charges by id, and its
    transactions in chronological order (a payment, or the refund of one)."""

    def __init__(self) -> None:
        self.invoices: dict[tuple[int, int], Invoice] = {}
        self.checkouts: dict[str, Checkout] = {}
        self.charges: dict[str, Charge] = {}
        self.transactions: list[tuple[str, Charge]] = []  # ("payment" | "refund", charge)
        self.links: dict[str, Invoice] = {}  # createInvoiceLink's links: the terms each sells on
        self.subscriptions: dict[str, Subscription] = {}  # by the first charge's id
        self._provider_numbers = itertools.count(1)

    def add_invoice(self, chat_id: int, message_id: int, total_amount: int, payload: str) -> Invoice:
        self.invoices[chat_id, message_id] = Invoice(chat_id, message_id, total_amount, payload)
        return self.invoices[chat_id, message_id]

    def new_checkout(self, invoice: Invoice) -> Checkout:
        checkout = Checkout(str(secrets.randbits(63)), invoice)
        self.checkouts[checkout.id] = checkout
        return checkout

    def add_link(self, total_amount: int, payload: str, subscription_period: int | None) -> str:
        link = "https://t.me/$" + secrets.token_urlsafe(12)
        self.links[link] = Invoice(0, 0, total_amount, payload, subscription_period=subscription_period)
        return link

    def charge(self, checkout: Checkout, user: dict[str, Any], link: str | None = None) -> Charge:
        """Record the payment the bot accepted; the invoice is paid from now on (an invoice
        link's subscription starts: its first period is this charge)."""
        charge = self._new_charge(checkout.invoice, user)
        checkout.invoice.charge_id = charge.telegram_payment_charge_id
        if checkout.invoice.subscription_period:
            subscription = Subscription(charge.telegram_payment_charge_id, user["id"], link or "", checkout.invoice,
                                        charge.date + checkout.invoice.subscription_period)
            self.subscriptions[subscription.first_charge_id] = subscription
            self._bill(subscription, charge, first=True)
        return charge

    def renew(self, subscription: Subscription, user: dict[str, Any]) -> Charge:
        """The next period's payment, charged by Telegram itself (no pre_checkout_query)."""
        charge = self._new_charge(subscription.invoice, user)
        subscription.expiration_date += subscription.invoice.subscription_period
        self._bill(subscription, charge, first=False)
        return charge

    def _bill(self, subscription: Subscription, charge: Charge, *, first: bool) -> None:
        charge.subscription, charge.is_first_recurring = subscription, first
        charge.subscription_expiration_date = subscription.expiration_date
        subscription.charge_ids.append(charge.telegram_payment_charge_id)

    def subscription_of(self, charge_id: str) -> Subscription | None:
        """The subscription ``charge_id`` paid a period of (the first or any renewal)."""
        charge = self.charges.get(charge_id)
        return charge.subscription if charge is not None else None

    def _new_charge(self, invoice: Invoice, user: dict[str, Any]) -> Charge:
        charge = Charge(
            telegram_payment_charge_id="stx" + secrets.token_urlsafe(60),
            provider_payment_charge_id=f"{user['id']}_{next(self._provider_numbers)}",
            user=dict(user),
            invoice=invoice,
            date=int(time.time()),
        )
        self.charges[charge.telegram_payment_charge_id] = charge
        self.transactions.append(("payment", charge))
        return charge

    def refund(self, user_id: int | None, charge_id: str) -> Charge:
        """Give the Stars back, or Telegram's 400 for an unknown or already refunded charge."""
        charge = self.charges.get(charge_id)
        if charge is None or charge.user["id"] != user_id:
            raise BadCall(400, "Bad Request: CHARGE_NOT_FOUND")
        if charge.refund_date is not None:
            raise BadCall(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        charge.refund_date = int(time.time())
        self.transactions.append(("refund", charge))
        return charge

    def star_transactions(self) -> list[dict[str, Any]]:
        """StarTransaction objects, oldest first: a payment has a ``source``, a refund a ``receiver``,
        both the paying user, under the charge's id."""
        return [_star_transaction(kind, charge) for kind, charge in self.transactions]

    @property
    def balance(self) -> int:
        return sum(charge.invoice.total_amount * (1 if kind == "payment" else -1) for kind, charge in self.transactions)

    def reset(self) -> None:
        """Forget everything; a pay call still waiting for an answer stops waiting."""
        for checkout in self.checkouts.values():
            checkout.expired = True
            checkout.answered.set()
        self.invoices.clear()
        self.checkouts.clear()
        self.charges.clear()
        self.transactions.clear()
        self.links.clear()
        self.subscriptions.clear()
        self._provider_numbers = itertools.count(1)


def _star_transaction(kind: str, charge: Charge) -> dict[str, Any]:
    partner = {"type": "user", "transaction_type": "invoice_payment", "user": charge.user,
               "invoice_payload": charge.invoice.payload}  # fmt: skip
    if charge.invoice.subscription_period:
        partner["subscription_period"] = charge.invoice.subscription_period
    date = charge.date if kind == "payment" else charge.refund_date
    side = "source" if kind == "payment" else "receiver"
    return {"id": charge.telegram_payment_charge_id, "date": date, side: partner, "amount": charge.invoice.total_amount}
