"""The ``neurocards`` command: the operator's and the dev stack's entry points.

Each sub-command is a small function; bad arguments get argparse's usage line,
bad settings one line naming the key, and neither a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from .settings import SettingsError, load_settings

__all__ = ["main", "dramatiq_argv"]

logger = logging.getLogger("neurocards.cli")


class SchemaBehind(Exception):
    """The database has migrations still to apply; the command says so in one line."""


def _open_database(settings, *, up_to_date: bool = True):
    from .db import init_database
    from .schema import pending_migrations

    init_database(settings.database_url)
    if up_to_date and (pending := pending_migrations()):
        raise SchemaBehind(f"the database schema is behind ({', '.join(pending)} not applied); "
                           "run `neurocards migrate` first")


def cmd_migrate(settings, args) -> int:
    from .db import redact_url
    from .schema import migrate

    _open_database(settings, up_to_date=False)
    applied = migrate()
    where = redact_url(settings.database_url)
    if applied:
        print(f"migrate: applied {', '.join(applied)} to {where}")
    else:
        print(f"migrate: schema of {where} is up to date")
    return 0


def cmd_audit(settings, args) -> int:
    from .money.audit import audit

    _open_database(settings)
    report = audit()
    if args.payments:
        report["payments"] = _reconcile_payments(settings)
        report["ok"] = report["ok"] and not report["payments"]
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0 if report["ok"] else 1


def _reconcile_payments(settings) -> list[dict]:
    """Our payments against Telegram's getStarTransactions (see :mod:`neurocards.money.reconcile`)."""
    import asyncio

    from .clients.telegram import create_bot
    from .money.reconcile import reconcile

    async def run() -> list[dict]:
        bot = create_bot(settings)
        try:
            return [mismatch.as_dict() for mismatch in await reconcile(bot)]
        finally:
            await bot.session.close()

    return asyncio.run(run())


def cmd_stats(settings, args) -> int:
    from .stats import stats

    _open_database(settings)
    from .money import economics

    report = stats()
    report["storage"] = _storage_use(settings)
    report["economics"] = economics.report(settings)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        jobs = ", ".join(f"{k} {v}" for k, v in report["jobs"]["by_status"].items() if v) or "none"
        c = report["credits"]
        print(f"users: {report['users']}")
        print(f"jobs: {report['jobs']['total']} ({jobs})")
        print(
            f"credits: debited {c['debited']}, refunded {c['refunded']}, granted {c['granted']}, "
            f"purchased {c['purchased']}, promo {c['promo']}, referral {c['referral']}, outstanding {c['outstanding']}"
        )
        p = report["purchases"]
        print(f"purchases: {p['count']} ({p['stars']} Stars for {p['credits']} credits; "
              f"refunded {p['refunded']}, unmatched {p['unmatched']})")
        money = report["economics"]
        for name, row in (("total", money["total"]), *((f"model {m}", r) for m, r in money["by_model"].items())):
            margin = "n/a" if row["margin"] is None else f"{row['margin']:.0%}"
            per_video = "n/a" if row["margin_per_video_usd"] is None else f"${row['margin_per_video_usd']:.3f}"
            print(f"economics, {name}: revenue ${row['revenue_usd']:.2f}, cost ${row['cost_usd']:.2f} "
                  f"({row['kie_credits']:g} KIE credits), margin {margin}, {per_video} a video "
                  f"({row['videos']} videos of {row['jobs']} jobs)")
        sub = report["subscriptions"]
        print(f"subscriptions: {sub['active']} active, {sub['cancelled']} cancelled, {sub['ended']} ended; "
              f"{sub['months_paid']} months paid ({sub['stars']} Stars), {c['subscription']} credits, "
              f"{c['expired']} expired unused")
        r = report["referrals"]
        print(f"referrals: {r['joined']} sellers joined by {r['inviters']} sellers' links, {r['bonuses']} bonuses")
        for promo in report["promo_codes"]:
            print(f"promo code {promo['code']}: {promo['credits']} cr., {promo['uses']}/{promo['max_uses']} used, "
                  f"until {promo['expires_at']}")
        use = report["storage"]
        print(f"storage on this host ({use['dir']}): photos {use['photos']['files']} files "
              f"{use['photos']['bytes'] / 1e6:.1f} MB, videos {use['videos']['files']} files "
              f"{use['videos']['bytes'] / 1e6:.1f} MB")
        for action in report["operator_actions"]:
            if action["seller"] is None:
                print(f"operator: {action['at']} {action['kind']} — {action['reason']}")
            else:
                print(f"operator: {action['at']} {action['kind']} {action['amount']:+d} seller {action['seller']} "
                      f"— {action['reason']}")
    return 0


def _storage_use(settings) -> dict:
    from .media.storage import Storage

    storage = Storage(settings.storage_dir, max_video_bytes=settings.storage.max_video_mb * 1024 * 1024)
    return {"dir": str(settings.storage_dir), **storage.usage()}


def cmd_grant(settings, args) -> int:
    from .models import User
    from .money import credits

    _open_database(settings)
    if User.get_or_none(User.id == args.telegram_id) is None:
        print(f"grant: no seller with Telegram id {args.telegram_id} (they must /start the bot first)", file=sys.stderr)
        return 1
    try:
        movement = credits.grant(args.telegram_id, args.credits, reason=args.reason)
    except credits.InsufficientCredits as exc:
        print(f"grant: refused, seller {args.telegram_id} has only {exc.balance} credits", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"grant: {exc}", file=sys.stderr)
        return 2
    balance = credits.balance_of(args.telegram_id)
    print(f"grant: {movement.amount:+d} credits to {args.telegram_id} ({args.reason}); balance now {balance}")
    return 0


def cmd_redis(settings, args) -> int:
    from .embedded_redis import run_redis_server

    if not settings.redis_embedded:
        print("redis: redis.url is set, so the embedded Redis is not needed; idling", flush=True)
        return _idle()
    data_dir = settings.var_dir / "redis"
    print(f"redis: embedded redis-server on 127.0.0.1:{settings.redis.port}, data in {data_dir}", flush=True)
    return run_redis_server(settings.redis.port, data_dir)


def cmd_worker(settings, args) -> int:
    from .dispatch import MEDIA_QUEUE, PIPELINE_QUEUE

    from .metrics import clear_multiprocess_dir, prepare_worker_environment

    worker = settings.worker
    if args.media:  # FFmpeg's queue: CPU-heavy, so processes (and metrics) of its own
        queue, processes, threads = MEDIA_QUEUE, worker.media_processes, worker.media_threads
        port = settings.metrics.media_port
    else:
        queue, processes, threads = PIPELINE_QUEUE, worker.processes, worker.threads
        port = settings.metrics.worker_port
    clear_multiprocess_dir(settings, port)
    prepare_worker_environment(settings, port)
    processes, threads = args.processes or processes, args.threads or threads
    argv = dramatiq_argv("actors", processes, threads, shutdown_timeout_s=worker.shutdown_timeout_s,
                         queues=(queue,))
    print(f"worker: dramatiq on the {queue} queue with {processes} process(es) x {threads} thread(s)", flush=True)
    os.execv(sys.executable, argv)
    return 0  # not reached


def dramatiq_argv(module: str, processes: int, threads: int, *, shutdown_timeout_s: float,
                  queues: tuple[str, ...] = ()) -> list[str]:
    """The ``dramatiq`` command line of a worker, on ``queues`` (every queue when
    empty).  ``--worker-shutdown-timeout`` (``worker.shutdown_timeout_s``;
    Dramatiq's default is 10 minutes) bounds how long a stopping worker waits for
    its running messages: those still running then are redelivered once the
    worker's heartbeat goes stale."""
    argv = [sys.executable, "-m", "dramatiq", module, "--processes", str(processes), "--threads", str(threads),
            "--worker-shutdown-timeout", str(int(shutdown_timeout_s * 1000))]
    return argv + (["--queues", *queues] if queues else [])


def cmd_watchdog(settings, args) -> int:
    """The watchdog (DESIGN §12): one process per host, one active across hosts;
    runs in the foreground until SIGTERM or SIGINT (systemd's and honcho's stop)."""
    import signal
    import threading

    for variable in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "dramatiq_prom_db"):
        os.environ.pop(variable, None)  # its metrics are its own, not the workers' shared folder's
    from .context import Context
    from .jobs.watchdog import run
    from .jobs.watchdog_metrics import WatchdogMetrics

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    context = Context(settings)
    metrics = WatchdogMetrics()
    metrics.margin_floor.set(settings.economics.margin_alert_below)
    server = metrics.serve(settings.metrics.host, settings.metrics.watchdog_port)
    watchdog = settings.watchdog
    print(f"watchdog: a pass every {watchdog.period_s:g} s, lease {watchdog.lease_s:g} s", flush=True)
    try:
        run(context, stop, metrics)
    finally:
        server.shutdown()
        context.close()
    return 0


def cmd_sandbox(settings, args) -> int:
    import asyncio

    if not settings.sandbox_active:
        print("sandbox: tokens and keys are set, so the real services are used; idling", flush=True)
        return _idle()
    from .sandbox.runner import serve_forever

    try:
        asyncio.run(serve_forever(settings))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_health(settings, args) -> int:
    from .health import run_checks

    checks = run_checks(settings)
    for check in checks:
        print(check.line())
    return 0 if all(check.ok for check in checks) else 1


def cmd_demo(settings, args) -> int:
    from .demo import run_demo

    return run_demo(settings)


def _idle() -> int:
    """Wait quietly (so that honcho keeps the rest of the stack running)."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def _positive_or_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurocards", description="Neurocards: product photo to promo video.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)
    p = sub.add_parser("audit", help="check the ledger invariants (exit 1 when broken)")
    p.add_argument("--payments", action="store_true", help="also compare payments with Telegram's Star transactions")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("stats", help="sellers, jobs by status, credits moved")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("grant", help="give (or, negative, take) credits")
    p.add_argument("telegram_id", type=int, help="the seller's Telegram id")
    p.add_argument("credits", type=_positive_or_negative_int, help="how many credits (negative to take)")
    p.add_argument("--reason", required=True, help="why, recorded in the ledger")
    p.set_defaults(func=cmd_grant)

    sub.add_parser("redis", help="run the embedded redis-server (when redis.url is unset)").set_defaults(func=cmd_redis)

    sub.add_parser("sandbox", help="run the local stand-ins for Telegram, KIE.AI and OpenAI").set_defaults(
        func=cmd_sandbox
    )

    sub.add_parser("health", help="check the database, Redis, workers and the services (exit 0/1)").set_defaults(
        func=cmd_health
    )
    sub.add_parser("demo", help="play a seller against the sandbox, end to end").set_defaults(func=cmd_demo)

    sub.add_parser("watchdog", help="move stuck jobs on, or fail and refund them (one active at a time)").set_defaults(
        func=cmd_watchdog)

    p = sub.add_parser("worker", help="run the Dramatiq worker with processes/threads from settings")
    p.add_argument("--media", action="store_true",
                   help="serve the media queue (FFmpeg) with worker.media_processes/media_threads")
    p.add_argument("--processes", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.set_defaults(func=cmd_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"neurocards: {exc}", file=sys.stderr)
        return 2
    from .logs import setup_logging

    setup_logging(settings)
    try:
        return args.func(settings, args)
    except SchemaBehind as exc:
        print(f"neurocards {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
