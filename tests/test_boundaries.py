"""The production paths learn the stand-ins' base URLs from the settings and
nothing else: importing the worker, the bot or the CLI loads no sandbox code."""

import subprocess
import sys

PRODUCTION_ENTRY_POINTS = ["actors", "neurocards.bot.app", "neurocards.bot.main", "neurocards.cli",
                           "neurocards.health"]


def test_no_production_module_imports_the_sandbox():
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in PRODUCTION_ENTRY_POINTS)
        + "print(sorted(m for m in sys.modules if m.startswith('neurocards.sandbox')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
