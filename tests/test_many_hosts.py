"""Many hosts, no shared disk (DESIGN §13): two worker "hosts", each in its own
mount namespace with its own storage folder and unable to see the bot's files or
the other's (``unshare --mount`` with tmpfs laid over them), on PostgreSQL.
Photos come back from Telegram by file_id, videos from KIE's result URL; a host
killed mid-delivery leaves its job to the other; one Prometheus scrapes both."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from neurocards.models import LedgerEntry
from neurocards.money.audit import audit
from neurocards.settings import ROOT
from tests.bot_fixtures import Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)
from tests.prometheus import SCRAPE_INTERVAL_S, Prometheus
from tests.services import free_port, wait_until
from tests.stack import wait_for_final, wait_for_status

pytestmark = [pytest.mark.parametrize("stack", ["postgres"], indirect=True, scope="module"),
              pytest.mark.skipif(os.geteuid() != 0, reason="a private mount namespace needs root (CI runs as root)")]

HOSTS = ("host-a", "host-b")
PROMETHEUS_YML = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def _storage(stack, host: str) -> Path:
    return Path(stack.dir) / host


def start_host(stack, host: str) -> subprocess.Popen:
    """A worker that sees its own storage only: the bot's folder and the other
    host's are covered by empty tmpfs mounts in its private mount namespace."""
    hidden = [Path(stack.env["NEUROCARDS_STORAGE__DIR"])] + [_storage(stack, h) for h in HOSTS if h != host]
    for folder in [*hidden, _storage(stack, host)]:
        folder.mkdir(parents=True, exist_ok=True)
    worker = [sys.executable, "-m", "dramatiq", "actors", "--processes", "1", "--threads", "4"]
    script = " && ".join(f"mount -t tmpfs tmpfs '{folder}'" for folder in hidden) + ' && exec "$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *worker]
    saved = dict(stack.env)
    metrics = Path(stack.dir) / f"{host}-metrics"  # each host's processes add up their own counters
    metrics.mkdir(exist_ok=True)
    port = stack.worker_ports[host] = free_port()
    stack.env.update({"NEUROCARDS_STORAGE__DIR": str(_storage(stack, host)),
                      "NEUROCARDS_METRICS__WORKER_PORT": str(port), "dramatiq_prom_port": str(port),
                      "PROMETHEUS_MULTIPROC_DIR": str(metrics), "dramatiq_prom_db": str(metrics)})
    try:
        return stack._spawn(host, argv)
    finally:
        stack.env.clear()
        stack.env.update(saved)


@pytest.fixture(scope="module")
def hosts(bot):
    """The module's bot, with its own worker replaced by two worker hosts."""
    bot.stop("worker")
    bot.worker_ports = {}
    for host in HOSTS:
        start_host(bot, host)
    yield bot
    for host in HOSTS:
        if host in bot.processes:
            bot.stop(host)


@pytest.fixture(scope="module")
def prometheus(hosts, tmp_path_factory):
    """deploy/prometheus/prometheus.yml as the README's "Three hosts" says to set it
    up: the worker job with a target per worker host."""
    defaults = tomllib.loads((ROOT / "settings.toml").read_text())["metrics"]
    workers = ", ".join(f'"127.0.0.1:{hosts.worker_ports[host]}"' for host in HOSTS)
    config = PROMETHEUS_YML.read_text().replace(f'["{defaults["host"]}:{defaults["worker_port"]}"]', f"[{workers}]")
    config = config.replace("scrape_interval: 15s", f"scrape_interval: {SCRAPE_INTERVAL_S}s")
    config = config.replace("- alerts.yml", f"- {PROMETHEUS_YML.parent / 'alerts.yml'}")
    assert workers in config
    server = Prometheus(config, tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()


def _files(stack, host: str, kind: str) -> set[str]:
    return {path.name for path in (_storage(stack, host) / kind).glob("*") if path.is_file()}


def _paused(stack, host: str):
    """``host`` frozen (SIGSTOP to its whole group) for the length of a block, so
    the other host takes every message sent meanwhile."""
    @contextlib.contextmanager
    def paused():
        stack.signal_group(host, signal.SIGSTOP)
        try:
            yield
        finally:
            stack.signal_group(host, signal.SIGCONT)
    return paused()


def test_jobs_land_on_both_hosts_and_each_fetches_what_it_lacks(hosts, prometheus):
    # Given sellers sending photos to the bot (which keeps them on its own disk),
    # three while each host has the queue to itself
    jobs = []
    for turn, host in enumerate(HOSTS):
        other = next(h for h in HOSTS if h != host)
        with _paused(hosts, other):
            chats = [Chat(hosts) for _ in range(3)]
            for n, chat in enumerate(chats):
                chat.start()
                chat.photo(caption=f"Product {turn}-{n}")

            # Then every video comes back, made by a worker that never saw the bot's files
            for chat in chats:
                chat.wait_video(timeout=120)
            jobs += [job for chat in chats for job in chat.ended_jobs()]
    assert [job.status for job in jobs] == ["done"] * len(jobs)
    photos = {host: _files(hosts, host, "photos") for host in HOSTS}
    videos = {host: _files(hosts, host, "videos") for host in HOSTS}
    clips = {host: [name for name in names if name.count(".") == 1] for host, names in videos.items()}
    finished = {host: [name for name in names if name.endswith(".reels.mp4")] for host, names in videos.items()}
    assert all(len(names) == 3 for names in clips.values()), videos  # each host downloaded its turn's clips
    assert all(len(names) == 3 for names in finished.values()), videos  # ... and finished them
    fetched = {name.split(".")[0] for host in HOSTS for name in photos[host]}
    assert {str(job.id) for job in jobs} <= fetched  # each photo fetched again by file_id on a worker host
    assert audit()["ok"]

    # And Prometheus, scraping a target per host, counts each host's jobs apart
    instances = {host: f"127.0.0.1:{hosts.worker_ports[host]}" for host in HOSTS}
    finished = 'sum by (instance) (neurocards_jobs_finished_total{job="neurocards-worker", outcome="done"})'

    def each_host_counted():
        counted = {sample["metric"]["instance"]: float(sample["value"][1]) for sample in prometheus.query(finished)}
        return counted if counted == {instance: 3.0 for instance in instances.values()} else None

    wait_until(each_host_counted, timeout=60, what="Prometheus to count 3 jobs on each host")
    up = {sample["metric"]["instance"]: sample["value"][1] for sample in prometheus.query('up{job="neurocards-worker"}')}
    assert up == {instance: "1" for instance in instances.values()}


def test_a_host_killed_mid_delivery_leaves_the_job_to_the_other(hosts):
    # Given a job whose video is being sent, slowly, by one of the hosts
    chat = Chat(hosts)
    chat.start()
    hosts.fault("telegram", "slow", count=1, params={"delay_s": 6}, match={"method": "sendVideo"})
    chat.photo(caption="Copper kettle")
    job = wait_until(lambda: chat.jobs() and chat.jobs()[0], what="the job")
    job = wait_for_status(job.id, ("delivering",), timeout=90)
    holder = next(host for host in HOSTS if f"{job.id}.mp4" in _files(hosts, host, "videos"))
    survivor = next(host for host in HOSTS if host != holder)

    # When that host dies
    hosts.kill(holder)

    # Then the other host downloads the video again from KIE and delivers it
    job = wait_for_final(job.id, timeout=120)
    assert job.status == "done", (job.error_class, job.error_detail)
    assert f"{job.id}.mp4" in _files(hosts, survivor, "videos")
    debits = LedgerEntry.select().where((LedgerEntry.job == job.id) & (LedgerEntry.kind == "debit")).count()
    refunds = LedgerEntry.select().where((LedgerEntry.job == job.id) & (LedgerEntry.kind == "refund")).count()
    assert (debits, refunds) == (1, 0)
    start_host(hosts, holder)
