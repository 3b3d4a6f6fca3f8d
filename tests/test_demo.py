"""``neurocards demo`` from nothing: it starts Redis, the sandbox, a worker and the
bot itself, plays a seller and exits 0 with the video stored."""

import os
import re
import subprocess
import sys
from pathlib import Path

from neurocards.settings import ROOT
from tests.services import free_port


def test_demo_runs_the_whole_product_with_no_keys(tmp_path):
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text((ROOT / "settings.toml").read_text())
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("NEUROCARDS_")},
        "NEUROCARDS_SETTINGS": str(settings_file),  # var/, storage and the database under tmp_path
        "NEUROCARDS_REDIS__PORT": str(free_port()),
        "NEUROCARDS_SANDBOX__TELEGRAM_PORT": str(free_port()),
        "NEUROCARDS_SANDBOX__KIE_PORT": str(free_port()),
        "NEUROCARDS_SANDBOX__OPENAI_PORT": str(free_port()),
        "NEUROCARDS_SANDBOX__GENERATION_S": "1",
        "NEUROCARDS_KIE__POLL_FIRST_S": "0.5",
        "NEUROCARDS_KIE__POLL_MAX_S": "1",
        "NEUROCARDS_TELEGRAM__STATUS_EDIT_INTERVAL_S": "1",
        "NEUROCARDS_TELEGRAM__WEB_PORT": str(free_port()),
        "NEUROCARDS_METRICS__WORKER_PORT": str(free_port()),
        "NEUROCARDS_METRICS__BOT_PORT": str(free_port()),
    }
    env.pop("dramatiq_prom_db", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "neurocards"), "demo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "seller > [photo] Handmade ceramic mug, 350 ml, matte white glaze" in result.stdout
    delivered = re.search(r"\[video, (\d+) bytes\]", result.stdout)
    assert delivered and int(delivered[1]) > 0
    assert "[🔁 Generate again]" in result.stdout
    assert "bot    > [invoice: 5 video credits — ⭐50]" in result.stdout
    assert "bot    > ✅ Payment received: ⭐50 for 5 cr." in result.stdout
    stored = [line for line in result.stdout.splitlines() if line.startswith("video stored at ")]
    assert stored and str(tmp_path / "var" / "storage" / "videos") in stored[0]
    assert f"({delivered[1]} bytes, finished for reels" in stored[0]  # what reached the chat is the finished file
