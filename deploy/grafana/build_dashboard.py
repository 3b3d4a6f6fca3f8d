"""Build the Neurocards Grafana dashboard from code.

    .venv/bin/python deploy/grafana/build_dashboard.py   # writes dashboards/neurocards.json

The panels are plain dicts; the generated JSON is committed, and
tests/test_monitoring.py checks that it equals what this file builds now (so a
renamed metric or an edited panel is regenerated) and evaluates every query of
:func:`expressions` against a real Prometheus scraping a real stack.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["build", "expressions", "write", "OUTPUT"]

#: Where the provisioned dashboard lives (provisioning/dashboards/neurocards.yml points here).
OUTPUT = Path(__file__).resolve().parent / "dashboards" / "neurocards.json"

UID = "neurocards"
#: Every panel queries the datasource picked in the ``datasource`` variable.
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
ACTOR = 'actor_name=~"$actor"'

#: What :func:`expressions` puts in place of Grafana's variables, to run a query in Prometheus.
SUBSTITUTIONS = {"$__rate_interval": "1m", "$actor": ".*"}

WIDTH, HEIGHT, COLUMNS = 24, 8, 3


def target(expr: str, legend: str) -> dict:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "range": True}


def timeseries(title: str, targets: list[dict], *, unit: str = "short", description: str = "",
               stack: bool = False) -> dict:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if stack else 0,
                           "stacking": {"mode": "normal" if stack else "none", "group": "A"}},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": targets,
    }


def stat(title: str, targets: list[dict], *, unit: str = "short", description: str = "",
         thresholds: list[tuple[float | None, str]] = ((None, "green"),)) -> dict:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "thresholds": {"mode": "absolute",
                               "steps": [{"value": value, "color": color} for value, color in thresholds]},
            },
            "overrides": [],
        },
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "area", "textMode": "value_and_name"},
        "targets": targets,
    }


def quantiles(metric: str, by: str, legend: str, selector: str = "", levels=(0.5, 0.95)) -> list[dict]:
    """p50 and p95 of the histogram ``metric`` (``_bucket`` series) grouped ``by``."""
    group = f"le, {by}" if by else "le"
    series = f"{metric}_bucket{{{selector}}}" if selector else f"{metric}_bucket"
    return [
        target(f"histogram_quantile({q}, sum by ({group}) (rate({series}[{RATE}])))",
               f"p{round(q * 100)} {legend}".strip())
        for q in levels
    ]


def rows() -> list[tuple[str, list[dict]]]:
    """The dashboard, top to bottom: (row title, its panels)."""
    return [
        ("Jobs", [
            timeseries("Jobs finished per minute, by outcome", [target(
                f"sum by (outcome, error_class) (rate(neurocards_jobs_finished_total[{RATE}])) * 60",
                "{{outcome}} {{error_class}}")], stack=True,
                description="Jobs that ended, per minute: done, or failed with the error class the seller was told."),
            timeseries("Jobs in flight, by state", [target(
                "sum by (status) (neurocards_jobs_active)", "{{status}}")], stack=True,
                description="Jobs not yet done or failed, read from the database at each scrape of the bot."),
            timeseries("Content refusals per hour, by stage", [target(
                "sum by (stage) (increase(neurocards_refusals_total[1h]))", "{{stage}}")],
                description="Requests refused for their content: moderation (the description, before any "
                            "charge), prompt (the prompt model), kie (KIE's content policy, after the free "
                            "retry; refunded)."),
            timeseries("Free retries after a KIE content refusal", [target(
                "sum by (outcome) (increase(neurocards_safety_retries_total[1h]))", "{{outcome}}")],
                description="Started: a prompt rewritten to avoid what KIE flagged, at no charge; passed: "
                            "its task made a video; refused: refused again, the job failed and was refunded."),
            timeseries("Oldest job in each state", [target(
                "max by (status) (neurocards_job_oldest_age_seconds)", "{{status}}")], unit="s",
                description="Seconds since the oldest job in each state last moved (alert: 15 min)."),
            timeseries("End-to-end latency p50 / p95", quantiles(
                "neurocards_job_duration_seconds", "outcome", "{{outcome}}"), unit="s",
                description="From the photo (job created) to the job's end, by outcome (alert: p95 over 12 min)."),
            timeseries("Stage latency p50 / p95", quantiles(
                "neurocards_stage_duration_seconds", "stage", "{{stage}}"), unit="s",
                description="Time a job spent in each state, by that state: created is the wait in the "
                            "queue, enhancing the prompt, generating KIE's work, downloading and delivering "
                            "the rest; a failed job's last state ends at its failure."),
            timeseries("KIE ready to video in the chat p50 / p95", quantiles(
                "neurocards_ready_to_delivered_seconds", "", ""), unit="s",
                description="From KIE reporting the video ready to the job being done (download + send)."),
        ]),
        ("Finishing", [
            timeseries("FFmpeg CPU per finished video p50 / p95, by preset", quantiles(
                "neurocards_finish_cpu_seconds", "preset", "{{preset}}"), unit="s",
                description="CPU seconds FFmpeg spent making KIE's clip into the seller's format (the media "
                            "queue); the finishing stage's wall time is the stage latency's 'finishing'."),
            timeseries("Bytes into and out of finishing", [target(
                f"sum by (direction) (rate(neurocards_finish_bytes_total[{RATE}]))", "{{direction}}")], unit="Bps",
                description="KIE's clips in, finished videos out."),
            timeseries("Finishing fallbacks per hour, by kind", [target(
                "sum by (kind) (increase(neurocards_finish_fallbacks_total[1h]))", "{{kind}}")],
                description="reencoded: made smaller to fit the preset's cap; raw: FFmpeg could not finish the "
                            "clip in time, and KIE's clip went as it is (alert: over a fifth of finishes)."),
        ]),
        ("Credits", [
            timeseries("Credits debited vs refunded", [target(
                f'sum by (kind) (increase(neurocards_credits_total{{kind=~"debit|refund"}}[{RATE}]))', "{{kind}}")],
                description="Debits are counted by the bot when it starts a job, refunds by the workers."),
            stat("Refund ratio, last 15 min", [target(
                'sum(increase(neurocards_credits_total{kind="refund"}[15m]))'
                ' / sum(increase(neurocards_credits_total{kind="debit"}[15m]))', "refunded / debited")],
                unit="percentunit", thresholds=[(None, "green"), (0.1, "orange"), (0.2, "red")],
                description="Credits refunded over credits debited (alert: above 20%)."),
            timeseries("Credits given away per hour: promo codes, referral bonuses", [target(
                'sum by (kind) (increase(neurocards_credits_total{kind=~"promo|referral"}[1h]))', "{{kind}}")],
                description="Promo codes redeemed (/promo) and inviters' bonuses for invited sellers' first "
                            "purchases (/invite), counted by the bot."),
        ]),
        ("Payments", [
            timeseries("Stars received per hour", [target(
                "sum(increase(neurocards_stars_received_total[1h]))", "Stars")],
                description="Telegram Stars paid for credit packs in the hour up to each point (revenue)."),
            stat("Invoice to payment, last hour", [target(
                'sum(increase(neurocards_payments_total{outcome="paid"}[1h]))'
                ' / clamp_min(sum(increase(neurocards_payments_total{outcome="invoice_sent"}[1h])), 1)',
                "paid / invoices")], unit="percentunit",
                description="Payments credited over invoices sent in the last hour: how many sellers who "
                            "picked a pack went on to pay."),
            timeseries("Payment steps per minute", [target(
                f"sum by (outcome) (rate(neurocards_payments_total[{RATE}])) * 60", "{{outcome}}")],
                description="Invoices sent, pre-checkout answered ok or refused (forged, someone else's, "
                            "expired, wrong amount, pack no longer sold), paid, duplicates of a payment "
                            "already credited, unmatched payments kept for support, refunds."),
            timeseries("Pre-checkout answer p50 / p99", quantiles(
                "neurocards_pre_checkout_seconds", "", "", levels=(0.5, 0.99)), unit="s",
                description="Time from the pre-checkout query reaching the bot to its answer; Telegram "
                            "cancels the payment after 10 s (alert: p99 over 5 s, or any failed answer)."),
            stat("Payments disagreeing with Telegram", [target(
                "sum by (kind) (neurocards_payment_mismatches)", "{{kind}}")],
                thresholds=[(None, "green"), (1, "red")],
                description="From the bot's reconciliation against getStarTransactions (alert: any). "
                            "`neurocards audit --payments` lists them."),
            timeseries("Webhook requests refused", [target(
                f"sum(increase(neurocards_webhook_refused_total[{RATE}]))", "refused")],
                description="Requests to the webhook without Telegram's secret, refused before any "
                            "handler (alert: any in 15 min)."),
            timeseries("Subscriptions per day: subscribed, renewed, cancelled, ended", [target(
                "sum by (event) (increase(neurocards_subscriptions_total[1d]))", "{{event}}")],
                description="The monthly plan (/subscription): first months paid, renewals, cancellations "
                            "and their take-backs, plans ended with no renewal, and renewal_refused "
                            "(Telegram renewed a plan cancelled with us: nothing credited)."),
        ]),
        ("Economics", [
            timeseries("Revenue vs cost per hour, by model (USD)", [
                target("sum by (model) (increase(neurocards_revenue_usd_total[1h]))", "revenue {{model}}"),
                target("sum by (model) (increase(neurocards_cost_usd_total[1h]))", "cost {{model}}")],
                unit="currencyUSD",
                description="Revenue: the credits of delivered videos at the packs' mean price "
                            "(economics.usd_per_star). Cost: KIE's tasks at the price table "
                            "(economics.kie_prices) and OpenAI's tokens, failed jobs included. "
                            "`neurocards stats` has the exact figures per day and model."),
            stat("Margin, last hour", [target(
                "(sum(increase(neurocards_revenue_usd_total[1h])) - sum(increase(neurocards_cost_usd_total[1h])))"
                " / clamp_min(sum(increase(neurocards_revenue_usd_total[1h])), 0.01)", "margin")],
                unit="percentunit", thresholds=[(None, "red"), (0.2, "orange"), (0.4, "green")],
                description="Share of the hour's revenue left after KIE and OpenAI (alert: below "
                            "economics.margin_alert_below)."),
            timeseries("KIE balance vs what the work needs (credits)", [
                target("max(neurocards_kie_balance_credits)", "balance"),
                target("max(neurocards_kie_balance_needed_credits)", "jobs in flight + an hour of new ones"),
                target("max by (tier) (neurocards_kie_tier_closed)", "closed: {{tier}}")],
                description="Read by the watchdog every kie.balance_period_s. A tier whose task the balance "
                            "can't pay is closed before charging (1) and opens by itself when it can."),
        ]),
        ("Actors ($actor)", [
            timeseries("Messages per second", [target(
                f"sum by (actor_name) (rate(dramatiq_messages_total{{{ACTOR}}}[{RATE}]))", "{{actor_name}}")],
                unit="ops", description="Messages processed (or skipped), per actor."),
            timeseries("Errors per second", [target(
                f"sum by (actor_name) (rate(dramatiq_message_errors_total{{{ACTOR}}}[{RATE}]))", "{{actor_name}}")],
                unit="ops", description="Messages whose actor raised (retried or dead-lettered after)."),
            timeseries("Retries per second", [target(
                f"sum by (actor_name) (rate(dramatiq_message_retries_total{{{ACTOR}}}[{RATE}]))", "{{actor_name}}")],
                unit="ops", description="Messages sent again by Dramatiq's Retries (transient failures)."),
            timeseries("Dead letters", [target(
                f"sum by (actor_name) (increase(dramatiq_message_rejects_total{{{ACTOR}}}[{RATE}]))",
                "{{actor_name}}")],
                description="Messages that left for the dead-letter queue; each fails its job with a refund."),
            timeseries("In progress and delayed", [
                target(f"sum by (actor_name) (dramatiq_messages_inprogress{{{ACTOR}}})", "running {{actor_name}}"),
                target(f"sum by (actor_name) (dramatiq_delayed_messages_inprogress{{{ACTOR}}})",
                       "delayed {{actor_name}}"),
            ], description="Messages being processed now, and delayed ones (polls, back-offs) held in memory."),
            timeseries("Message duration p95", quantiles(
                "dramatiq_message_duration_milliseconds", "actor_name", "{{actor_name}}", ACTOR, levels=(0.95,)),
                unit="ms", description="Time an actor spent on one message."),
        ]),
        ("External services", [
            timeseries("External calls per second", [target(
                f"sum by (service, operation, outcome) (rate(neurocards_external_calls_total[{RATE}]))",
                "{{service}} {{operation}} {{outcome}}")], unit="ops",
                description="Calls to KIE, OpenAI and Telegram from the workers; outcome is ok or the error class."),
            timeseries("External calls: errors per second, by class", [target(
                f'sum by (service, outcome) (rate(neurocards_external_calls_total{{outcome!="ok"}}[{RATE}]))',
                "{{service}} {{outcome}}")], unit="ops", stack=True,
                description="kie_access / kie_no_credits (401/402) and Telegram rate_limited (429) page."),
            timeseries("External call latency p95", quantiles(
                "neurocards_external_call_seconds", "service, operation", "{{service}} {{operation}}",
                levels=(0.95,)), unit="s"),
        ]),
        ("Queues", [
            timeseries("Queue depth: ready, delayed, dead", [target(
                "sum by (queue, state) (neurocards_queue_messages)", "{{queue}} {{state}}")],
                description="Messages in Dramatiq's Redis queues, read by the bot at each scrape "
                            "(alert: over 100 ready for 10 min)."),
        ]),
        ("Bot and delivery", [
            timeseries("Bot updates per second", [target(
                f"sum by (update_type, outcome) (rate(neurocards_bot_updates_total[{RATE}]))",
                "{{update_type}} {{outcome}}")], unit="ops"),
            timeseries("Bot handler latency p50 / p95", quantiles(
                "neurocards_bot_handler_seconds", "update_type", "{{update_type}}"), unit="s"),
            timeseries("Video delivered", [target(
                f"sum(rate(neurocards_delivered_bytes_total[{RATE}]))", "delivered")], unit="Bps",
                description="Bytes of video sent to sellers."),
            stat("Targets up", [target(
                'up{job=~"neurocards-worker|neurocards-media|neurocards-bot|neurocards-watchdog"}', "{{job}}")],
                 thresholds=[(None, "red"), (1, "green")],
                 description="1 when Prometheus scraped the target (alert: worker or bot down for 1 min, "
                             "the media worker for 2 min, the watchdog for 5 min)."),
        ]),
        ("Watchdog", [
            timeseries("Stuck jobs moved on by the watchdog", [target(
                f"sum by (stage, action) (increase(neurocards_watchdog_rescues_total[{RATE}]))",
                "{{stage}} {{action}}")], stack=True,
                description="Jobs that made no progress for longer than their state allows: their message sent "
                            "again (resend), failed and refunded past their deadline (fail), or their seller told "
                            "again (notify).  Each is a lost message (alert: any in 15 min)."),
            stat("Watchdog holding the lease", [target("sum(neurocards_watchdog_leader)", "active watchdogs")],
                 thresholds=[(None, "red"), (1, "green")],
                 description="How many watchdogs hold the lease: 1 (one active across hosts; 0 when none can "
                             "reach the database)."),
        ]),
    ]


def templating() -> dict:
    return {"list": [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": ""},
        {"name": "actor", "label": "Actor", "type": "query", "datasource": DATASOURCE,
         "definition": "label_values(dramatiq_messages_total, actor_name)",
         "query": {"query": "label_values(dramatiq_messages_total, actor_name)", "refId": "actor"},
         "includeAll": True, "allValue": ".*", "multi": True, "current": {"text": "All", "value": "$__all"},
         "refresh": 2, "sort": 1, "hide": 0, "regex": ""},
    ]}


def build() -> dict:
    """The dashboard as a dict, ready for ``json.dumps``."""
    panels, y, next_id = [], 0, 1
    for title, row_panels in rows():
        panels.append({"type": "row", "title": title, "id": next_id, "collapsed": False, "panels": [],
                       "gridPos": {"x": 0, "y": y, "w": WIDTH, "h": 1}})
        next_id, y = next_id + 1, y + 1
        width = WIDTH // COLUMNS
        for index, panel in enumerate(row_panels):
            panel = {"id": next_id, **panel, "gridPos": {
                "x": (index % COLUMNS) * width, "y": y + (index // COLUMNS) * HEIGHT, "w": width, "h": HEIGHT}}
            for ref, query in zip("ABCDEFGH", panel["targets"]):
                query["refId"] = ref
            panels.append(panel)
            next_id += 1
        y += -(-len(row_panels) // COLUMNS) * HEIGHT
    return {
        "uid": UID,
        "title": "Neurocards",
        "description": "Jobs, credits, actors, external services, queues and the bot (DESIGN §9).",
        "tags": ["neurocards"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "templating": templating(),
        "annotations": {"list": []},
        "panels": panels,
    }


def expressions(dashboard: dict | None = None) -> list[str]:
    """Every PromQL query of the dashboard, Grafana's variables replaced
    (``$actor`` by ``.*``, ``$__rate_interval`` by ``1m``), in panel order, then
    the series each ``label_values(series, label)`` variable reads."""
    dashboard = dashboard or build()
    found = []
    for panel in dashboard["panels"]:
        for query in panel.get("targets", []):
            expr = query["expr"]
            for variable, value in SUBSTITUTIONS.items():
                expr = expr.replace(variable, value)
            found.append(expr)
    for variable in dashboard["templating"]["list"]:
        definition = variable.get("definition", "")
        if definition.startswith("label_values("):
            found.append(definition.removeprefix("label_values(").rsplit(",", 1)[0].strip())
    return found


def render(dashboard: dict) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def write(path: Path = OUTPUT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(build()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write()} ({len(expressions())} queries)", file=sys.stderr)
