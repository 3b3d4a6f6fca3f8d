"""The Bot API's method table, and the checks every call to the Telegram stand-in passes.

``assets/telegram_methods.json`` is ``{method: {param: required}}`` for every method of the
Bot API, derived from PaulSonOfLars/telegram-bot-api-spec (MIT, ``assets/telegram-bot-api.LICENSE``)
by :func:`derive`.  Regenerate it after updating the spec::

    python -m neurocards.sandbox.telegram_spec /work/shared/telegram-bot-api.json

Telegram itself ignores parameters it does not know; the stand-in rejects them, because an
unknown parameter in our code is a typo or a field of another method, and Telegram would
silently drop it.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["METHODS_FILE", "BadCall", "methods", "canonical_name", "check_params", "derive"]

#: The derived method table shipped with the stand-in.
METHODS_FILE = Path(__file__).with_name("assets") / "telegram_methods.json"

#: Parameters the Bot API replaced but still honours (aiogram keeps them as deprecated fields).
LEGACY_PARAMS = frozenset({"reply_to_message_id", "allow_sending_without_reply", "disable_web_page_preview"})


class BadCall(Exception):
    """A call the Bot API would refuse: ``status`` and ``description`` as Telegram words them."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@functools.cache
def methods() -> dict[str, dict[str, bool]]:
    """The method table, loaded once."""
    return json.loads(METHODS_FILE.read_text(encoding="utf-8"))


@functools.cache
def _by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in methods()}


def canonical_name(name: str) -> str:
    """The method's spelling in the Bot API docs (method names are case-insensitive)."""
    try:
        return _by_lower_name()[name.lower()]
    except KeyError:
        raise BadCall(404, "Not Found: method not found") from None


def check_params(method: str, params: dict[str, Any]) -> None:
    """Refuse a call that misses a required parameter or passes one ``method`` does not have."""
    table = methods()[method]
    for name in params:
        if name not in table and name not in LEGACY_PARAMS:
            raise BadCall(400, f"Bad Request: unknown parameter {name!r} for method {method}")
    for name, required in table.items():
        if required and params.get(name) in (None, ""):
            raise BadCall(400, f"Bad Request: {name} is required")


def derive(spec: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """The compact table from the full machine-readable spec."""
    return {
        name: {field["name"]: bool(field["required"]) for field in method.get("fields", [])}
        for name, method in sorted(spec["methods"].items())
    }


def main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    table = derive(spec)
    lines = (f"{json.dumps(name)}: {json.dumps(params)}" for name, params in table.items())
    METHODS_FILE.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")  # one method a line
    print(f"{len(table)} methods from {spec.get('version', 'the spec')} written to {METHODS_FILE}")


if __name__ == "__main__":
    main(sys.argv[1:])
