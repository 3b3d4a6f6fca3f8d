"""The operator's view, proven against a real Prometheus (DESIGN §9).

``deploy/`` holds the scrape config, the alert rules and a Grafana dashboard
built from code.  Here Debian's ``prometheus`` scrapes a real stack — the bot
and a worker with two processes, against the sandbox — every second, after the
bot has taken sellers through jobs that succeed, fail and meet KIE's and
Telegram's errors, with the watchdog watching.  Then every query of the dashboard and of the alerts must
return data, and the counters must agree with the database.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import httpx
import pytest


from neurocards.models import Job, LedgerEntry, Payment
from neurocards.schema import migrate
from neurocards.context import Context
from neurocards.settings import ROOT, load_settings
from tests.bot_fixtures import Chat
from tests.prometheus import SCRAPE_INTERVAL_S, Prometheus, tool
from tests.services import free_port, wait_until
from tests.stack import Stack, drain, wait_for_final

DEPLOY = ROOT / "deploy"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS_YML = DEPLOY / "prometheus" / "alerts.yml"
BUILD_DASHBOARD = DEPLOY / "grafana" / "build_dashboard.py"
DASHBOARD_JSON = DEPLOY / "grafana" / "dashboards" / "neurocards.json"

WORKER_PROCESSES = 2
#: The scrape jobs of prometheus.yml (what the alerts and the dashboard select on).
JOBS = ("neurocards-worker", "neurocards-bot", "neurocards-watchdog")
#: Scrapes of every target after the last job's last message, before anything is queried.
SCRAPES_AFTER_TRAFFIC = 3
#: A trailing ``<comparison> <number>``: what turns an alert's query into its condition.
CONDITION = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(-?[0-9][0-9.e+-]*)\s*$")

_user_ids = iter(range(910_000_001, 911_000_000))


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_dashboard", BUILD_DASHBOARD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the stack, a Prometheus scraping it, and the traffic -----------------------------------


@pytest.fixture(scope="module")
def stack(redis_server, tmp_path_factory):
    """The sandbox, SQLite, a worker with two processes, the bot and the watchdog, each
    serving its metrics where the settings' defaults say (``metrics.host``), on free ports."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'neurocards.db'}"
    stack = Stack(redis_url=redis_server.url, database_url=url, WATCHDOG__PERIOD_S="1")
    # only metrics.host (left at its default) decides where metrics listen, not the
    # stack's explicit Dramatiq variable
    del stack.env["dramatiq_prom_host"]
    assert "NEUROCARDS_METRICS__HOST" not in stack.env
    with pytest.MonkeyPatch.context() as patch:
        try:
            for key, value in stack.env.items():
                patch.setenv(key, value)
            stack.context = Context(load_settings())
            migrate()
            redis_server.client().flushall()
            stack.start_worker(processes=WORKER_PROCESSES)
            # The bot gets the worker's multiprocess variables too (Stack gives them to every
            # process): it must drop them, or the worker's endpoint would serve its counters
            # a second time (every debit counted twice) -- test 4 checks it does.
            stack.start_bot()
            stack.start_watchdog()  # (its limits are the defaults: it finds nothing stuck here)
            _wait_until_serving(stack)
            yield stack
        finally:
            stack.close()
            stack.context.close()


def _wait_until_serving(stack: Stack) -> None:
    probe = next(_user_ids)
    stack.tg.send_command(probe, "start", language_code="en")
    stack.tg.wait_for(_bot_messages, timeout=60, chat_id=probe)
    for port in (_worker_port(stack), _bot_port(stack), _watchdog_port(stack)):
        wait_until(lambda: _serves_metrics(port), timeout=60, interval=0.1, what=f"metrics on port {port}")


def _worker_port(stack: Stack) -> int:
    return int(stack.env["NEUROCARDS_METRICS__WORKER_PORT"])


def _bot_port(stack: Stack) -> int:
    return int(stack.env["NEUROCARDS_METRICS__BOT_PORT"])


def _watchdog_port(stack: Stack) -> int:
    return int(stack.env["NEUROCARDS_METRICS__WATCHDOG_PORT"])


def _serves_metrics(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _bot_messages(transcript: dict) -> list[dict]:
    return [event for event in transcript["events"] if event["type"] == "bot_message"]


def scrape_config_for(stack: Stack) -> str:
    """``prometheus.yml`` with the stack's ports for the settings' default ones, a 1 s
    interval and the rules by absolute path; every job name and rule file kept."""
    defaults = tomllib.loads((ROOT / "settings.toml").read_text())["metrics"]
    host = defaults["host"]
    replacements = {
        f'"{host}:{defaults["worker_port"]}"': f'"127.0.0.1:{_worker_port(stack)}"',
        f'"{host}:{defaults["bot_port"]}"': f'"127.0.0.1:{_bot_port(stack)}"',
        f'"{host}:{defaults["watchdog_port"]}"': f'"127.0.0.1:{_watchdog_port(stack)}"',
        # this stack's one worker serves the media queue too (its metrics on the worker's port):
        # no media worker listens, so its target is down, as NeurocardsMediaWorkerDown reads it
        f'"{host}:{defaults["media_port"]}"': f'"127.0.0.1:{free_port()}"',
        "scrape_interval: 15s": f"scrape_interval: {SCRAPE_INTERVAL_S}s",
        "evaluation_interval: 15s": f"evaluation_interval: {SCRAPE_INTERVAL_S}s",
        "- alerts.yml": f"- {ALERTS_YML}",
    }
    text = PROMETHEUS_YML.read_text()
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{PROMETHEUS_YML} should hold {old!r} once (this test rewrites it)"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory):
    """Prometheus, once it has scraped both targets (so it sees every counter from its first value)."""
    server = Prometheus(scrape_config_for(stack), tmp_path_factory.mktemp("prometheus"))
    try:
        server.wait_for_scrapes(JOBS, after=0, count=1)
        yield server
    finally:
        server.stop()


def _seller_starts_a_job(stack: Stack, caption: str) -> int:
    """A new seller talks to the bot: /start (a welcome credit), then a photo with a caption."""
    user_id = next(_user_ids)
    stack.tg.send_command(user_id, "start", language_code="en")
    stack.tg.wait_for(_bot_messages, timeout=30, chat_id=user_id)
    stack.tg.send_photo(user_id, caption=caption, language_code="en")
    return user_id


def _invited_seller(stack: Stack) -> Chat:
    """A new seller who came by another's /invite link (their first purchase earns a bonus)."""
    inviter = Chat(stack, user_id=next(_user_ids))
    inviter.start()
    inviter.command("invite")
    link = inviter.tg.wait_for(lambda t: [e["text"] for e in _bot_messages(t) if "?start=ref_" in e.get("text", "")],
                               timeout=30, chat_id=inviter.id)[0]
    chat = Chat(stack, user_id=next(_user_ids))
    chat.command("start", link.split("?start=", 1)[1].split()[0])
    chat.tg.wait_for(_bot_messages, timeout=30, chat_id=chat.id)
    return chat


def _seller_buys_a_pack(stack: Stack) -> Payment:
    """An invited seller opens /buy, picks the pack of 5 and pays the invoice in Stars."""
    chat = _invited_seller(stack)
    chat.command("buy")
    chat.wait_text(chat.t("buy.title", price=1))
    chat.press(callback_data="buy:5:50")
    invoice = chat.tg.wait_for(lambda t: [e for e in _bot_messages(t) if e.get("invoice")][-1:], timeout=30,
                               chat_id=chat.id)[0]
    outcome = chat.tg.pay(chat.id, invoice["message_id"])
    assert outcome["outcome"] == "paid", outcome
    return wait_until(lambda: Payment.get_or_none(Payment.telegram_charge_id == outcome["telegram_payment_charge_id"]),
                      timeout=30, what="the payment")


def _seller_subscribes(stack: Stack) -> Payment:
    """A seller opens /subscription and pays the monthly plan's invoice link."""
    chat = Chat(stack, user_id=next(_user_ids))
    chat.start()
    chat.command("subscription")
    link = chat.tg.wait_for(lambda t: [b["url"] for e in _bot_messages(t) for row in
                                       (e.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
                                       if b.get("url")], timeout=30, chat_id=chat.id)[0]
    outcome = chat.tg.pay_link(chat.id, link)
    assert outcome["outcome"] == "paid", outcome
    return wait_until(lambda: Payment.get_or_none(Payment.telegram_charge_id == outcome["telegram_payment_charge_id"]),
                      timeout=30, what="the plan's first month")


def _jobs_of(user_ids: list[int]) -> list[Job]:
    def started():
        found = list(Job.select().where(Job.user.in_(user_ids)))
        return found if len(found) == len(user_ids) else None

    return [wait_for_final(job.id) for job in wait_until(started, timeout=30, what="the bot to start the jobs")]


@pytest.fixture(scope="module")
def traffic(stack, prometheus):
    """Sellers take jobs through the bot until every series of the dashboard exists;
    returns the ended jobs once Prometheus has scraped everything they left behind."""
    stack.reset_sandbox()
    # Given an invited seller buying a pack with Stars (their inviter's bonus with it), another subscribing
    assert _seller_buys_a_pack(stack).credits == 5
    assert _seller_subscribes(stack).subscription_id is not None

    # and KIE refusing one job for its content and answering another 402 at create
    stack.fault("kie", "code", count=1, match={"endpoint": "generate"}, params={"code": 402})
    stack.fault("kie", "content_policy", count=2, params={"stage": "task"})  # refused twice: the free retry too
    failed = _jobs_of([_seller_starts_a_job(stack, f"Refused mug #{n}") for n in range(2)])

    # and then a KIE 500 (retried) and a Telegram 429 on a video (waited out) among jobs that succeed
    stack.fault("kie", "code", count=1, match={"endpoint": "generate"}, params={"code": 500})
    stack.fault("telegram", "retry_after", count=1, params={"retry_after": 1}, match={"method": "sendVideo"})
    done = _jobs_of([_seller_starts_a_job(stack, f"Ceramic mug #{n}, 350 ml") for n in range(3)])

    # (the scenario went as planned, so every series below was really exercised)
    assert sorted(job.error_class for job in failed) == ["content_policy", "kie_no_credits"]
    assert [job.status for job in done] == ["done"] * 3
    assert [fault["fired"] for fault in stack.faults("kie")] == [1, 2, 1]
    assert [fault["fired"] for fault in stack.faults("telegram")] == [1]

    # When every message has been handled and Prometheus has scraped a few times since
    drain(stack.env["NEUROCARDS_REDIS__URL"])
    prometheus.wait_for_scrapes(JOBS, after=time.time(), count=SCRAPES_AFTER_TRAFFIC)
    return failed + done


# -- what is generated and what promtool says -----------------------------------------------


def test_the_dashboard_json_is_what_build_dashboard_builds():
    builder = _load_builder()

    # (a renamed metric or an edited panel: run the builder and commit its output)
    assert DASHBOARD_JSON.read_text() == builder.render(builder.build()), (
        "deploy/grafana/dashboards/neurocards.json is stale: run .venv/bin/python deploy/grafana/build_dashboard.py")
    expressions = builder.expressions()
    assert expressions and not [expr for expr in expressions if "$" in expr]


def test_promtool_accepts_the_scrape_config_and_the_rules():
    for kind, path in (("config", PROMETHEUS_YML), ("rules", ALERTS_YML)):
        result = subprocess.run([tool("promtool"), "check", kind, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


# -- against a real Prometheus ------------------------------------------------------------


def alert_queries(prometheus: Prometheus) -> dict[str, str]:
    """Each alert's query (its expr without the trailing comparison), as Prometheus loaded it."""
    rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
    named = re.findall(r"^\s*- alert:\s*(\S+)", ALERTS_YML.read_text(), flags=re.M)
    assert sorted(rule["name"] for rule in rules) == sorted(named), "Prometheus did not load every alert"
    unhealthy = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert not unhealthy, unhealthy
    queries = {}
    for rule in rules:
        assert CONDITION.search(rule["query"]), f"{rule['name']}: expr must end with <comparison> <number>"
        queries[rule["name"]] = CONDITION.sub("", rule["query"])
    return queries


def test_every_dashboard_and_alert_query_returns_data(traffic, prometheus):
    # Given every query of the dashboard, and of each alert without its threshold
    queries = {f"dashboard: {expr}": expr for expr in _load_builder().expressions()}
    queries |= {f"alert {name}: {query}": query for name, query in alert_queries(prometheus).items()}

    # When Prometheus evaluates them after the traffic
    empty = [label for label, expr in queries.items() if not prometheus.query(expr)]

    # Then each returns data
    assert not empty, "no data for:\n" + "\n".join(empty)


def test_counters_agree_with_the_database_across_two_worker_processes(traffic, prometheus):
    # Given the jobs the bot started, ended (two worker processes did the work)
    done = Job.select().where(Job.status == "done").count()
    failed = Job.select().where(Job.status == "failed").count()
    assert (done, failed) == (3, 2)

    # Then the counters, summed over both processes, say what the database says
    assert prometheus.value('sum(neurocards_jobs_finished_total{outcome="done"})') == done
    assert prometheus.value('sum(neurocards_jobs_finished_total{outcome="failed"})') == failed
    assert prometheus.value('sum(neurocards_credits_total{kind="debit"})') == credits_moved("debit")
    assert prometheus.value('sum(neurocards_credits_total{kind="refund"})') == credits_moved("refund")
    assert prometheus.value('sum(dramatiq_messages_total{actor_name="deliver_video"})') >= done
    # and no counter ever went down between two scrapes (each scrape reads every process)
    names = prometheus.api("label/__name__/values", **{"match[]": f'{{job=~"{"|".join(JOBS)}"}}'})
    counters = [name for name in names if re.search(r"_(total|count|bucket)$", name)]
    assert "neurocards_jobs_finished_total" in counters
    went_down = {name: resets for name in counters
                 if (resets := [s for s in prometheus.query(f"resets({name}[5m])") if float(s["value"][1])])}
    assert not went_down, went_down


def test_the_watchdog_reports_every_rescue_series_from_the_start(traffic, prometheus):
    # Given the watchdog watching while the traffic ran (nothing was stuck for long enough)
    # Then it holds the lease, and every (state, action) series of its rescues exists, at 0
    assert prometheus.value("sum(neurocards_watchdog_leader)") == 1
    series = prometheus.query("neurocards_watchdog_rescues_total")
    pairs = {(sample["metric"]["stage"], sample["metric"]["action"]) for sample in series}
    active = ("created", "enhancing", "generating", "downloading", "finishing", "delivering")
    assert pairs == {(stage, action) for stage in active for action in ("resend", "fail")} | {("failed", "notify")}
    assert sum(float(sample["value"][1]) for sample in series) == 0


def credits_moved(kind: str) -> int:
    return sum(abs(entry.amount) for entry in LedgerEntry.select().where(LedgerEntry.kind == kind))


def test_the_worker_serves_its_metrics_on_loopback_only(stack):
    # Given the settings' default metrics.host, the worker's (and the bot's) metrics port
    # listens on 127.0.0.1 and on no other address
    assert load_settings().metrics.host == "127.0.0.1"
    assert listening_addresses(_worker_port(stack)) == {"127.0.0.1"}
    assert listening_addresses(_bot_port(stack)) == {"127.0.0.1"}
    assert listening_addresses(_watchdog_port(stack)) == {"127.0.0.1"}


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on ``port`` (from /proc/net)."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.rsplit(":", 1)
            if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # the kernel prints each 32-bit word in host (little-endian) order
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, words))
    return found

