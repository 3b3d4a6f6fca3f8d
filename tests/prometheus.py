"""A real Prometheus for the tests: Debian's ``prometheus`` binary scraping the
stacks' metric endpoints, queried through its HTTP API."""

from __future__ import annotations

import collections
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.services import free_port, wait_until

__all__ = ["Prometheus", "SCRAPE_INTERVAL_S", "tool"]

#: Seconds between scrapes (and rule evaluations) of the tests' Prometheus.
SCRAPE_INTERVAL_S = 1


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} was not found: apt-get install prometheus")
    return found


class Prometheus:
    """Debian's ``prometheus`` on loopback with ``config`` (a ``prometheus.yml``'s
    text: tests point deploy/prometheus/prometheus.yml at their own ports, with
    a :data:`SCRAPE_INTERVAL_S` interval) and storage of its own in ``folder``."""

    def __init__(self, config: str, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = folder / "prometheus.yml"
        path.write_text(config)
        argv = [tool("prometheus"), f"--config.file={path}", f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]
        self.log = open(folder / "prometheus.log", "ab")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._ready, timeout=60, interval=0.1, what="prometheus to be ready")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {self.process.returncode}; see {self.log.name}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def api(self, path: str, **params) -> dict:
        reply = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = reply.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant vector (or scalar, as one sample) ``expr`` evaluates to now."""
        data = self.api("query", query=expr)
        return data["result"] if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]

    def value(self, expr: str) -> float:
        [sample] = self.query(expr)
        return float(sample["value"][1])

    def wait_for_scrapes(self, jobs: tuple[str, ...], *, after: float, count: int) -> None:
        """Until every job's target has been scraped ``count`` times since ``after`` (unix s)."""
        seen: dict[str, set[float]] = collections.defaultdict(set)
        up = f'up{{job=~"{"|".join(jobs)}"}}'

        def scraped() -> bool:
            # timestamp() of a selector is the scrape's time (of anything computed, the query's)
            for sample in self.query(f"timestamp({up}) and {up} == 1"):
                if (stamp := float(sample["value"][1])) > after:
                    seen[sample["metric"]["job"]].add(stamp)
            return all(len(seen[job]) >= count for job in jobs)

        wait_until(scraped, timeout=60, interval=0.1, what=f"{count} scrapes of {jobs}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()
