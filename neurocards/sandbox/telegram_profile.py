"""What a bot asks about itself and its chats: getMe, getChat, getFile and its command menu."""

from __future__ import annotations

import json
import re
from typing import Any

from .telegram_call import Call
from .telegram_spec import BadCall

__all__ = ["METHODS"]

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


async def get_me(call: Call) -> dict[str, Any]:
    return call.bot.me


async def get_chat(call: Call) -> dict[str, Any]:
    """A ChatFullInfo for the private chat with a user who wrote to the bot."""
    kinds = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
    gifts = dict.fromkeys(kinds, True)
    return {**call.chat().as_chat(), "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}


async def get_file(call: Call) -> dict[str, Any]:
    """A File with its download path; Telegram's 400 for a file over the download limit."""
    stored = call.state.files.get(call.get_str("file_id", ""))
    if stored is None:
        raise BadCall(400, "Bad Request: invalid file_id")
    if stored.size > call.state.limits.download_limit_bytes:
        raise BadCall(400, "Bad Request: file is too big")
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size,
            "file_path": stored.path}  # fmt: skip


def _menu_key(call: Call) -> str:
    """Commands are kept per scope and language, as setMyCommands documents."""
    scope = call.get_json("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + call.get_str("language_code", "")


async def set_my_commands(call: Call) -> bool:
    commands = call.get_json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise BadCall(400, "Bad Request: can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command", ""))):
            raise BadCall(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise BadCall(400, "Bad Request: command description must be 1-256 characters")
    call.bot.commands[_menu_key(call)] = [{"command": c["command"], "description": c["description"]} for c in commands]
    return True


async def get_my_commands(call: Call) -> list[dict[str, str]]:
    return call.bot.commands.get(_menu_key(call), [])


async def delete_my_commands(call: Call) -> bool:
    call.bot.commands.pop(_menu_key(call), None)
    return True


METHODS = {
    "getMe": get_me,
    "getChat": get_chat,
    "getFile": get_file,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
}
