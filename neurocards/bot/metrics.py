"""The bot's own metrics: updates handled and handler latency, served on
``metrics.host:metrics.bot_port`` (loopback by default)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from ..money.reconcile import MISMATCH_KINDS

__all__ = ["BotMetrics", "PAYMENT_OUTCOMES"]

#: The steps of a Stars payment counted in ``neurocards_payments_total``.
PAYMENT_OUTCOMES = ("invoice_sent", "checkout_ok", "checkout_refused", "paid", "duplicate", "unmatched", "refunded",
                    "recovered")


class BotMetrics:
    """The bot's registry.  With ``redis`` (a synchronous client), it also reports
    queue depths and jobs in flight, read at each scrape."""

    def __init__(self, redis=None) -> None:
        disable_created_metrics()
        self.registry = CollectorRegistry()
        if redis is not None:
            from .collectors import JobsInFlightCollector, QueueDepthCollector

            self.registry.register(QueueDepthCollector(redis))
            self.registry.register(JobsInFlightCollector())
        self.updates = Counter(
            "neurocards_bot_updates_total", "Updates handled by the bot, by type and outcome.",
            ["update_type", "outcome"], registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "neurocards_bot_handler_seconds", "Time spent handling one update.",
            ["update_type"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.credits = Counter(
            "neurocards_credits_total", "Credits moved through the ledger by the bot, by kind.",
            ["kind"], registry=self.registry,
        )
        self.refusals = Counter(
            "neurocards_refusals_total", "Requests refused for their content, by stage: moderation (before any "
            "charge), prompt (the prompt model), kie (KIE's content policy, after the free retry).",
            ["stage"], registry=self.registry,
        )
        self.kie_callbacks = Counter(
            "neurocards_kie_callbacks_total", "KIE callbacks received, by outcome.",
            ["outcome"], registry=self.registry,
        )
        self.telegram_calls = Counter(
            "neurocards_external_calls_total", "Calls to external services made by the bot, by outcome.",
            ["service", "operation", "outcome"], registry=self.registry,
        )
        self.payments = Counter(
            "neurocards_payments_total", "Stars payments by step and outcome (invoice sent, checkout ok or "
            "refused, paid, duplicate, unmatched, refunded).", ["outcome"], registry=self.registry,
        )
        self.subscriptions = Counter(
            "neurocards_subscriptions_total", "Subscription events: subscribed, renewed, renewal_refused (a renewal "
            "of a plan cancelled with us), renewal_refunded (its Stars given back), cancelled, resumed, "
            "ended.", ["event"], registry=self.registry,
        )
        self.stars = Counter("neurocards_stars_received_total", "Telegram Stars received for credits.",
                             registry=self.registry)
        self.pre_checkout_seconds = Histogram(
            "neurocards_pre_checkout_seconds", "Time to answer a pre-checkout query (Telegram allows 10 s).",
            registry=self.registry, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.payment_mismatches = Gauge(
            "neurocards_payment_mismatches", "Payments on which we and Telegram's Star transactions disagree, by kind.",
            ["kind"], registry=self.registry,
        )
        self.webhook_refused = Counter(
            "neurocards_webhook_refused_total", "Webhook requests refused for a missing or wrong secret.",
            registry=self.registry,
        )
        self.credits.labels("debit")  # visible from the start, for rate() and increase()
        for outcome in PAYMENT_OUTCOMES:
            self.payments.labels(outcome)
        for kind in MISMATCH_KINDS:
            self.payment_mismatches.labels(kind)
        for outcome in ("ok", "error"):  # a failed pre-checkout answer pages (NeurocardsPreCheckoutFailing)
            self.updates.labels("PreCheckoutQuery", outcome)

    def telegram_asked_to_wait(self, method: str) -> None:
        """A reply of the bot's met Telegram's flood limit (429) and waited it out."""
        self.telegram_calls.labels("telegram", f"bot_{method}", "rate_limited").inc()

    def debited(self, amount: int) -> None:
        self.credits.labels("debit").inc(amount)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def app(self) -> web.Application:
        async def metrics(request: web.Request) -> web.Response:
            body = await asyncio.to_thread(self.exposition)  # collectors query Redis and the database
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        return app
