"""How long ``neurocards sandbox`` takes from launch to all three stand-ins
answering HTTP, over a few runs.  Prints figures, asserts nothing.

    python bench/sandbox_startup.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_run() -> float:
    ports = [free_port() for _ in range(3)]
    env = {**os.environ, "NEUROCARDS_SANDBOX__ENABLED": "on",
           "NEUROCARDS_SANDBOX__TELEGRAM_PORT": str(ports[0]), "NEUROCARDS_SANDBOX__KIE_PORT": str(ports[1]),
           "NEUROCARDS_SANDBOX__OPENAI_PORT": str(ports[2])}
    started = time.perf_counter()
    process = subprocess.Popen([str(Path(sys.executable).parent / "neurocards"), "sandbox"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        pending = {f"http://127.0.0.1:{port}/_sandbox/calls" for port in ports}
        while pending:
            for url in list(pending):
                try:
                    if httpx.get(url, timeout=0.5).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            if time.perf_counter() - started > 30:
                raise RuntimeError("the sandbox did not come up in 30 s")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = [one_run() for _ in range(args.runs)]
    print(f"neurocards sandbox, launch to all three stand-ins answering ({args.runs} runs): "
          f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
