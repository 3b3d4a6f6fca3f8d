"""One Bot API call as the stand-in reads it: parameters from the query string, a urlencoded,
JSON or multipart body (as aiogram sends it: scalars as strings, objects as JSON strings,
files as parts referenced by ``attach://<name>``), with typed accessors for the methods."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from .telegram_spec import BadCall
from .telegram_state import BotState, Chat, TelegramState

__all__ = ["Upload", "Call", "read_params"]

_CHUNK = 256 * 1024


@dataclasses.dataclass
class Upload:
    """A file part of a multipart call."""

    filename: str
    data: bytes
    content_type: str | None = None


async def read_params(request: web.Request, upload_limit: int) -> tuple[dict[str, Any], dict[str, Upload]]:
    """The call's parameters (None values dropped) and uploaded files; a 413 for a file over
    ``upload_limit`` bytes, after reading the body so the client sees the answer."""
    params: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.content_type == "multipart/form-data":
        await _read_multipart(request, upload_limit, params, uploads)
    elif request.method == "POST" and request.content_type == "application/json" and request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            raise BadCall(400, "Bad Request: can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise BadCall(400, "Bad Request: JSON request body must be an object")
        params.update(body)
    elif request.method == "POST":
        params.update(await request.post())
    return {key: value for key, value in params.items() if value is not None}, uploads


async def _read_multipart(request: web.Request, limit: int, params: dict[str, Any], uploads: dict[str, Upload]) -> None:
    too_large = False
    async for part in await request.multipart():
        if part.filename is None:
            params[part.name] = await part.text()
            continue
        data, size = bytearray(), 0
        while chunk := await part.read_chunk(_CHUNK):
            size += len(chunk)
            if size > limit:
                too_large, data = True, bytearray()  # keep draining, but hold nothing
            else:
                data += chunk
        uploads[part.name] = Upload(part.filename, bytes(data), part.headers.get("Content-Type"))
    if too_large:
        raise BadCall(413, "Request Entity Too Large")


@dataclasses.dataclass
class Call:
    """A validated call on its way to a method, with accessors that answer as Telegram does."""

    state: TelegramState
    bot: BotState
    method: str
    params: dict[str, Any]
    uploads: dict[str, Upload]

    @property
    def named_params(self) -> dict[str, Any]:
        """Every parameter passed, a file part not referenced by ``attach://`` included."""
        attached = {value[len("attach://") :] for value in self.params.values() if _is_attach(value)}
        direct = {name: upload for name, upload in self.uploads.items() if name not in attached}
        return {**direct, **self.params}

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BadCall(400, f"Bad Request: invalid {name} specified") from None

    def get_flag(self, name: str) -> bool:
        return self.params.get(name) in (True, "true", "True", "1", 1)

    def get_json(self, name: str) -> Any:
        """A JSON-serialized parameter (already decoded when the call came as JSON)."""
        value = self.params.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise BadCall(400, f"Bad Request: can't parse {name} JSON object") from None

    def chat(self) -> Chat:
        return self.bot.chat(self.params.get("chat_id"))

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: the uploaded part (direct or ``attach://``), else the string given."""
        value = self.params.get(name)
        if _is_attach(value):
            try:
                return self.uploads[value[len("attach://") :]]
            except KeyError:
                raise BadCall(400, f"Bad Request: file {value} not found in the request") from None
        return self.uploads.get(name, value)


def _is_attach(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("attach://")
