"""The money section: prices, the welcome grant, the packs sold for Stars, payments' timings."""

from __future__ import annotations

from pydantic import Field

from .base import Section

__all__ = ["Pack", "PromoSettings", "ReferralSettings", "SubscriptionSettings", "CreditsSettings", "KiePrice",
           "EconomicsSettings"]


class Pack(Section):
    """Credits sold together for a price in Telegram Stars."""

    credits: int = Field(ge=1)
    stars: int = Field(ge=1, le=100_000)


class PromoSettings(Section):
    """Bounds on the promo codes operators make (/promo new): what one code may give."""

    max_credits: int = Field(100, ge=1)  # per seller who redeems it
    max_uses: int = Field(100_000, ge=1)  # sellers in all
    max_days: int = Field(365, ge=1)  # how far ahead it may expire


class ReferralSettings(Section):
    """What an inviter gets when a seller they invited (/invite) makes a first purchase."""

    bonus: int = Field(2, ge=0, le=1000)  # credits; 0 turns the bonus off
    max_per_month: int = Field(20, ge=0, le=10_000)  # bonuses one inviter may get in a calendar month (UTC)


class SubscriptionSettings(Section):
    """The monthly plan sold as a Telegram Stars subscription (/subscription)."""

    credits: int = Field(30, ge=0, le=10_000)  # a month's credits; 0: no plan on sale
    stars: int = Field(220, ge=1, le=10_000)  # a month's price (Telegram takes at most 10,000 a period)
    rollover: bool = False  # a month's unused credits carry over; else they expire when the month ends
    end_grace_s: float = Field(86_400.0, ge=0)  # a month with no renewal this long after its end has ended
    sweep_period_s: float = Field(600.0, gt=0)  # how often ended months are looked for


class CreditsSettings(Section):
    welcome: int = Field(3, ge=0)
    price: int = Field(1, ge=1)
    packs: list[Pack] = [Pack(credits=5, stars=50), Pack(credits=10, stars=90), Pack(credits=30, stars=240)]
    invoice_ttl_s: float = Field(3600.0, gt=0)  # how long an invoice can be paid
    pending_request_ttl_s: float = Field(1800.0, gt=0)  # how long a request waits for a top-up
    reconcile_period_s: float = Field(900.0, gt=0)  # payments checked against Telegram's Star transactions
    payment_wait_s: float = Field(300.0, ge=0)  # a payment's update waits this long for a database outage to end
    recover_after_s: float = Field(60.0, ge=0)  # ... then the reconciler credits a charge this old from Telegram's list
    promo: PromoSettings = PromoSettings()
    referral: ReferralSettings = ReferralSettings()
    subscription: SubscriptionSettings = SubscriptionSettings()

    def pack(self, credits: int, stars: int) -> Pack | None:
        """The pack selling ``credits`` for ``stars``, if it is on sale."""
        return next((pack for pack in self.packs if (pack.credits, pack.stars) == (credits, stars)), None)


class KiePrice(Section):
    """What KIE charges for one video of ``model`` at ``resolution`` (KIE's price list, in its credits)."""

    model: str
    resolution: str = "720p"
    seconds: int = Field(8, ge=1)  # the clip's length at that price (Veo's clips are 8 s)
    credits: float = Field(ge=0)


class EconomicsSettings(Section):
    """What the operator's money is worth: KIE's and OpenAI's prices, and what a Star brings."""

    kie_prices: list[KiePrice] = [KiePrice(model="veo3_fast", credits=60), KiePrice(model="veo3", credits=250),
                                  KiePrice(model="veo3_lite", credits=30)]
    usd_per_kie_credit: float = Field(0.005, ge=0)
    usd_per_star: float = Field(0.013, ge=0)  # what Telegram pays out for a Star
    openai_usd_per_1m_input: float = Field(0.15, ge=0)  # the prompt model's price per million tokens
    openai_usd_per_1m_output: float = Field(0.60, ge=0)
    margin_alert_below: float = Field(0.2, le=1)  # the last hour's margin under this fires an alert

    def kie_credits(self, model: str, resolution: str = "720p") -> float | None:
        """KIE's credits for one video of ``model``; None when the table has no price for it."""
        return next((price.credits for price in self.kie_prices
                     if (price.model, price.resolution) == (model, resolution)), None)

    def openai_usd(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.openai_usd_per_1m_input + output_tokens * self.openai_usd_per_1m_output) / 1e6
