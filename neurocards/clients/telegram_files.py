"""Fetch a file a seller sent the bot, by its Telegram ``file_id``, from any host
(``getFile``, then the file itself; Bot API §"Files": up to 20 MB).

Synchronous (httpx) for the worker's threads.  The file URL holds the bot
token: it never leaves this module, and errors are raised without it.
"""

from __future__ import annotations

import httpx

__all__ = ["TelegramFiles", "TelegramFileError"]


class TelegramFileError(Exception):
    """Telegram would not give the file (unknown or expired file_id, too big)."""


class TelegramFiles:
    def __init__(self, *, api_base: str, token: str, timeout_s: float = 60.0) -> None:
        self._api = f"{api_base.rstrip('/')}/bot{token}"
        self._files = f"{api_base.rstrip('/')}/file/bot{token}"
        self.timeout_s = timeout_s

    def download(self, file_id: str) -> bytes:
        with httpx.Client(timeout=self.timeout_s) as client:
            reply = client.get(f"{self._api}/getFile", params={"file_id": file_id})
            body = _json(reply)
            if not body.get("ok") or not body.get("result", {}).get("file_path"):
                raise TelegramFileError(f"getFile refused: {reply.status_code} {body.get('description', '')}")
            response = client.get(f"{self._files}/{body['result']['file_path']}")
            if response.status_code != 200:
                raise TelegramFileError(f"file download answered {response.status_code}")
            return response.content


def _json(reply: httpx.Response) -> dict:
    try:
        return reply.json()
    except ValueError:
        return {}
