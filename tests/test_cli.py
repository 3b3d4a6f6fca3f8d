import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import redis

from neurocards.db import database
from neurocards.models import Broadcast, Job, Report, User
from neurocards.money import credits
from neurocards.users import register
from tests.conftest import run_cli
from tests.services import free_port, wait_until


def test_migrate_with_a_bad_setting_fails_in_one_line(tmp_path):
    result = run_cli("migrate", env={"NEUROCARDS_CREDITS__WELCOME": "abc"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "credits.welcome" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_arguments_get_a_usage_line():
    result = run_cli("grant", "not-a-number", "5")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: neurocards grant")
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_database(tmp_path):
    env = {"NEUROCARDS_DATABASE__URL": f"sqlite:///{tmp_path / 'x.db'}"}
    first = run_cli("migrate", env=env)
    second = run_cli("migrate", env=env)
    assert first.returncode == 0 and "applied 0001_initial" in first.stdout
    assert second.returncode == 0 and "up to date" in second.stdout


def test_audit_names_a_user_whose_balance_was_corrupted(database_url):
    # Given two sellers with clean ledgers
    register(101, "ru", welcome_credits=3)
    register(202, "ru", welcome_credits=3)
    env = {"NEUROCARDS_DATABASE__URL": database_url}
    assert run_cli("audit", env=env).returncode == 0

    # When one balance is changed by hand, around the ledger
    User.update(balance=99).where(User.id == 202).execute()
    database.close()

    # Then the audit fails and names that seller only
    result = run_cli("audit", env=env)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["problems"] == [{"problem": "balance_mismatch", "user": 202, "balance": 99, "ledger_sum": 3}]


def test_audit_names_a_failed_job_without_refund_and_a_done_job_with_one(database_url):
    user, _ = register(5, "ru", welcome_credits=3)
    failed = Job.create(user=user, chat_id=5, status="failed")
    done = Job.create(user=user, chat_id=5, status="done")
    credits.debit_job(failed, 1)
    credits.debit_job(done, 1)
    credits.refund_job(done)
    database.close()
    result = run_cli("audit", env={"NEUROCARDS_DATABASE__URL": database_url})
    problems = {(p["problem"], p.get("job")) for p in json.loads(result.stdout)["problems"]}
    assert result.returncode == 1
    assert problems == {("failed_job_refunds", str(failed.id)), ("done_job_refunded", str(done.id))}


def test_stats_json_and_grant(database_url):
    register(7, "ru", welcome_credits=3)
    job = Job.create(user=7, chat_id=7, status="done")
    credits.debit_job(job, 1)
    database.close()
    env = {"NEUROCARDS_DATABASE__URL": database_url}

    granted = run_cli("grant", "7", "5", "--reason", "support ticket 42", env=env)
    assert granted.returncode == 0, granted.stderr
    assert "balance now 7" in granted.stdout

    report = json.loads(run_cli("stats", "--json", env=env).stdout)
    assert report["users"] == 1
    assert report["jobs"]["by_status"]["done"] == 1
    assert report["credits"]["debited"] == 1
    assert report["credits"]["granted"] == 8
    assert report["credits"]["outstanding"] == 7


def test_stats_lists_every_operator_action_newest_first(database_url):
    # Given an operator's grant, a report they dismissed and a broadcast they sent
    register(8, "en", welcome_credits=1)
    job = Job.create(user=8, chat_id=8, status="done")
    at = dt.datetime(2026, 11, 1, 12, 0, 0)
    credits.grant(8, 2, reason="admin 77 via /grant: late video")
    Report.create(job=job, user=8, reason="bad_quality", status="dismissed", resolved_by=77,
                  resolved_at=at + dt.timedelta(minutes=1))
    Broadcast.create(admin_id=78, chat_id=78, text="<b>New</b>   formats\nare here", status="done",
                     confirmed_at=at + dt.timedelta(minutes=2), total=3, sent=2, blocked=1)
    Broadcast.create(admin_id=78, chat_id=78, text="never confirmed")  # a draft is no action
    database.close()

    # When the operator asks for the stats
    stats = run_cli("stats", env={"NEUROCARDS_DATABASE__URL": database_url}).stdout

    # Then each action is a line: who, when, what and why
    lines = [line for line in stats.splitlines() if line.startswith("operator:")]
    assert len(lines) == 3, stats
    assert lines[0].endswith("grant +2 seller 8 — admin 77 via /grant: late video")  # (made now: the newest)
    assert lines[1] == ("operator: 2026-11-01 12:02:00 broadcast — admin 78 via /broadcast #1 (done: sent 2 of 3, "
                        "blocked 1, failed 0): <b>New</b> formats are here")
    assert lines[2] == (f"operator: 2026-11-01 12:01:00 dismiss +0 seller 8 — admin 77 via report: #1 bad_quality "
                        f"on job {job.id}, dismissed")


def test_grant_to_an_unknown_seller_is_refused(sqlite_url):
    result = run_cli("grant", "999", "5", "--reason", "x", env={"NEUROCARDS_DATABASE__URL": sqlite_url})
    assert result.returncode == 1
    assert "no seller with Telegram id 999" in result.stderr


def test_embedded_redis_serves_on_loopback_and_keeps_an_append_only_file(tmp_path):
    port = free_port()
    process = _start_embedded_redis(tmp_path, port)
    try:
        client = redis.Redis(port=port)
        wait_until(lambda: _pings(client), what="embedded redis")
        client.set("k", "v")
        config = client.config_get("appendonly")
        assert config == {"appendonly": "yes"}
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        client.close()
        assert (tmp_path / "var" / "redis").is_dir()
        assert "embedded redis-server on 127.0.0.1:%d" % port in process.stdout.readline()
    finally:
        process.terminate()
        process.wait(10)


def test_embedded_redis_stopped_with_the_stack_waits_for_its_clients_then_stops(tmp_path):
    # Given the embedded Redis of a stack, and a process of the stack still connected
    port = free_port()
    process = _start_embedded_redis(tmp_path, port)
    client = redis.Redis(port=port)
    try:
        wait_until(lambda: _pings(client), what="embedded redis")
        client.rpush("queued", "message")

        # When the whole stack is told to stop, as honcho and systemd do (SIGTERM to the group)
        os.killpg(process.pid, signal.SIGTERM)
        time.sleep(1.0)  # well inside the 4 s it gives its clients

        # Then Redis still serves the process shutting down beside it …
        assert client.ping() and process.poll() is None
        client.close()
        # … and stops once it has left, cleanly, its data on disk
        assert process.wait(30) == 0
        assert not _pings(redis.Redis(port=port))
        assert any((tmp_path / "var" / "redis").rglob("*.aof"))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_embedded_redis_goes_down_with_its_launcher_when_that_is_killed(tmp_path):
    port = free_port()
    process = _start_embedded_redis(tmp_path, port)
    client = redis.Redis(port=port)
    wait_until(lambda: _pings(client), what="embedded redis")
    process.kill()  # SIGKILL to the launcher alone: redis-server runs in a session of its own
    process.wait(10)
    wait_until(lambda: not _pings(client), timeout=30, what="redis-server to stop with its launcher")


def _start_embedded_redis(tmp_path, port: int) -> subprocess.Popen:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text("")
    env = {"NEUROCARDS_SETTINGS": str(settings_file), "NEUROCARDS_REDIS__PORT": str(port)}
    return subprocess.Popen([sys.executable, "-m", "neurocards.cli", "redis"], cwd=tmp_path,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, text=True, start_new_session=True)


def _pings(client):
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def test_dramatiq_can_import_the_actors_package():
    result = subprocess.run(
        [sys.executable, "-c", "import actors, dramatiq; print(type(dramatiq.get_broker()).__name__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "RedisBroker"
