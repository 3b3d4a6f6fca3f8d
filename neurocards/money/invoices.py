"""Invoice payloads that no one can forge or reuse (DESIGN §11).

A payload names a pending purchase — the seller, the pack (credits and Stars),
when the invoice was made and a nonce — and carries an HMAC over all of it,
keyed by a secret derived from the bot token, so every bot instance can check
what any of them issued without a database row.  Telegram echoes the payload
back in ``pre_checkout_query`` and ``successful_payment``; the checks here
decide whether we take the money.

    p1.<user_id>.<credits>.<stars>.<created>.<nonce>.<mac>      (≤ 128 bytes)

``p1`` names a pack; ``s1`` a month of the subscription plan (every renewal
carries the first invoice's payload: the plan's terms as they were sold).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time

__all__ = ["Invoice", "InvoiceRefused", "payload_key", "issue", "read", "check", "CURRENCY", "SUBSCRIPTION_PERIOD_S"]

#: Telegram Stars: the only currency for digital goods.
CURRENCY = "XTR"
#: A subscription's one period (createInvoiceLink's ``subscription_period``): 30 days.
SUBSCRIPTION_PERIOD_S = 2_592_000
VERSION = "p1"  # a pack
SUBSCRIPTION_VERSION = "s1"  # a month of the subscription plan
#: Bytes of the HMAC kept in the payload (128 bits).
MAC_BYTES = 16


class InvoiceRefused(Exception):
    """A payload we will not take money for; ``reason`` names the seller-facing text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Invoice:
    user_id: int
    credits: int
    stars: int
    created: int  # Unix seconds
    nonce: str
    subscription: bool = False  # a month of the subscription plan, not a pack

    def body(self) -> str:
        version = SUBSCRIPTION_VERSION if self.subscription else VERSION
        return f"{version}.{self.user_id}.{self.credits}.{self.stars}.{self.created}.{self.nonce}"


def is_subscription(payload: str) -> bool:
    """Whether ``payload`` looks like a subscription's (signed or not: for wording only)."""
    return payload.startswith(SUBSCRIPTION_VERSION + ".")


def payload_key(bot_token: str) -> bytes:
    """The signing key: derived from the bot token, so instances agree without configuration."""
    return hmac.new(bot_token.encode(), b"neurocards:invoice-payload:v1", hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:MAC_BYTES].hex()


def issue(key: bytes, *, user_id: int, credits: int, stars: int, now: float | None = None,
          subscription: bool = False) -> str:
    """A payload for ``user_id`` buying ``credits`` for ``stars`` (a month of them: ``subscription``)."""
    invoice = Invoice(user_id, credits, stars, int(now if now is not None else time.time()), secrets.token_hex(4),
                      subscription)
    body = invoice.body()
    return f"{body}.{_mac(key, body)}"


def read(key: bytes, payload: str) -> Invoice:
    """The invoice a payload names, once its MAC checks out; :class:`InvoiceRefused` ("forged") otherwise."""
    parts = payload.split(".")
    if len(parts) != 7 or parts[0] not in (VERSION, SUBSCRIPTION_VERSION):
        raise InvoiceRefused("forged")
    body, mac = ".".join(parts[:6]), parts[6]
    if not hmac.compare_digest(_mac(key, body), mac):
        raise InvoiceRefused("forged")
    try:
        return Invoice(int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]), parts[5],
                       parts[0] == SUBSCRIPTION_VERSION)
    except ValueError:
        raise InvoiceRefused("forged") from None


def check(key: bytes, payload: str, *, payer_id: int, currency: str, total_amount: int, on_sale=None,
          ttl_s: float | None = None, now: float | None = None, recurring: bool | None = None) -> Invoice:
    """The invoice, when ``payer_id`` may pay it with ``total_amount`` ``currency``.

    At checkout ``on_sale(invoice)`` says whether that pack (or plan) is still
    sold and ``ttl_s`` how old an invoice may be; once Telegram reports the
    payment, neither is asked again (we said yes at checkout), and ``recurring``
    (the payment's ``is_recurring``) must match the payload's kind: a pack is
    never paid as a subscription, nor a subscription as a pack.  Raises
    :class:`InvoiceRefused` with the reason: ``forged``, ``not_yours``,
    ``amount``, ``kind``, ``unknown_pack`` or ``expired``.
    """
    invoice = read(key, payload)
    if invoice.user_id != payer_id:
        raise InvoiceRefused("not_yours")
    if currency != CURRENCY or total_amount != invoice.stars:
        raise InvoiceRefused("amount")
    if recurring is not None and recurring != invoice.subscription:
        raise InvoiceRefused("kind")
    if on_sale is not None and not on_sale(invoice):
        raise InvoiceRefused("unknown_pack")
    if ttl_s is not None and (now if now is not None else time.time()) - invoice.created > ttl_s:
        raise InvoiceRefused("expired")
    return invoice
