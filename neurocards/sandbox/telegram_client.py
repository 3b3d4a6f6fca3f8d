"""A small synchronous client for the Telegram stand-in's control API, for tests and demos:
act as a seller (paying invoices in Stars too), read what the bot did and the Stars it took,
inject faults and change Telegram's limits.

    tg = TelegramSandbox("http://127.0.0.1:8081")
    tg.send_command(42, "start")
    greeting = tg.wait_for(lambda t: [e for e in t["events"] if e["type"] == "bot_message"])
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

__all__ = ["TelegramSandbox", "TelegramSandboxError"]

T = TypeVar("T")


class TelegramSandboxError(RuntimeError):
    """The control API refused a call; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class TelegramSandbox:
    """The control API of the stand-in at ``base_url``, for the bot with ``token`` (default: the
    stand-in's first bot).  ``profile`` keywords (first_name, last_name, username, language_code)
    set the user's profile on their first message and update it on later ones."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._bot = {"token": token} if token else {}
        self._last_chat: int | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TelegramSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout_s: float | None = None,
              **params: Any) -> httpx.Response:  # fmt: skip
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s
        response = self._http.request(method, path, json=body, params={**self._bot, **params}, timeout=timeout)
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise TelegramSandboxError(response.status_code, message)
        return response

    def _send(self, user_id: int, kind: str, profile: dict[str, Any], **fields: Any) -> dict[str, Any]:
        self._last_chat = user_id
        body = {"kind": kind, **profile, **{key: value for key, value in fields.items() if value is not None}}
        return self._call("POST", f"/_sandbox/telegram/users/{user_id}/send", body).json()

    @staticmethod
    def _file(data: bytes | None, **fields: Any) -> dict[str, Any]:
        spec = {key: value for key, value in fields.items() if value is not None}
        if data is not None:
            spec["data_b64"] = base64.b64encode(data).decode()
        return spec

    def send_text(self, user_id: int, text: str, **profile: Any) -> dict[str, Any]:
        """The user writes ``text``; returns ``{"update_id", "message"}``."""
        return self._send(user_id, "text", profile, text=text)

    def send_command(self, user_id: int, command: str, args: str = "", **profile: Any) -> dict[str, Any]:
        """The user sends ``/command args`` (with its bot_command entity)."""
        text = "/" + command.lstrip("/") + (f" {args}" if args else "")
        return self._send(user_id, "text", profile, text=text)

    def send_photo(self, user_id: int, *, data: bytes | None = None, caption: str | None = None,
                   width: int | None = None, height: int | None = None, file_size: int | None = None,
                   media_group_id: str | None = None, **profile: Any) -> dict[str, Any]:  # fmt: skip
        """A photo (default: assets/product.jpg); ``file_size`` fakes the size Telegram reports."""
        photo = self._file(data, width=width, height=height, file_size=file_size)
        return self._send(user_id, "photo", profile, photo=photo, caption=caption, media_group_id=media_group_id)

    def send_document(self, user_id: int, *, data: bytes | None = None, file_name: str = "product.jpg",
                      mime_type: str | None = None, file_size: int | None = None, caption: str | None = None,
                      media_group_id: str | None = None, **profile: Any) -> dict[str, Any]:  # fmt: skip
        """A file sent as a document (default: product.jpg, a photo at full quality)."""
        document = self._file(data, file_name=file_name, mime_type=mime_type, file_size=file_size)
        return self._send(user_id, "document", profile, document=document, caption=caption,
                          media_group_id=media_group_id)

    def send_sticker(self, user_id: int, *, emoji: str = "👍", **profile: Any) -> dict[str, Any]:
        return self._send(user_id, "sticker", profile, sticker={"emoji": emoji})

    def send_video(self, user_id: int, *, data: bytes | None = None, width: int = 720, height: int = 1280,
                   duration: int = 5, file_size: int | None = None, caption: str | None = None,
                   **profile: Any) -> dict[str, Any]:  # fmt: skip
        video = self._file(data, width=width, height=height, duration=duration, file_size=file_size)
        return self._send(user_id, "video", profile, video=video, caption=caption)

    def send_voice(self, user_id: int, *, data: bytes | None = None, duration: int = 2,
                   **profile: Any) -> dict[str, Any]:  # fmt: skip
        return self._send(user_id, "voice", profile, voice=self._file(data, duration=duration))

    def press(self, user_id: int, *, callback_data: str | None = None, text: str | None = None,
              message_id: int | None = None) -> dict[str, Any]:  # fmt: skip
        """Press an inline button, found by callback_data and/or text on the newest bot message
        having it (or on ``message_id``); returns ``{"update_id", "callback_query_id"}``."""
        self._last_chat = user_id
        body = {"callback_data": callback_data, "text": text, "message_id": message_id}
        return self._call("POST", f"/_sandbox/telegram/users/{user_id}/press", body).json()

    def pay(self, user_id: int, message_id: int, *, timeout_s: float = 30.0) -> dict[str, Any]:
        """The user pays the invoice ``message_id`` in Stars; returns once the payment is decided:
        ``{"outcome": "paid" | "refused" | "no_answer", "pre_checkout_query_id", "update_id", ...}``
        with ``telegram_payment_charge_id``, ``provider_payment_charge_id``, ``message_id`` and
        ``update_ids`` of the successful_payment when paid, ``error_message`` when refused.
        It waits for the bot's answer to the pre_checkout_query: call it while the bot runs."""
        self._last_chat = user_id
        body = {"user_id": user_id, "message_id": message_id}
        return self._call("POST", "/_sandbox/telegram/pay", body, timeout_s=timeout_s).json()

    def pay_link(self, user_id: int, link: str, *, timeout_s: float = 30.0) -> dict[str, Any]:
        """The user opens an invoice link (createInvoiceLink's) and pays it: answers as :meth:`pay`;
        a subscription's first payment also has ``subscription_expiration_date``."""
        self._last_chat = user_id
        return self._call("POST", "/_sandbox/telegram/pay_link", {"user_id": user_id, "link": link},
                          timeout_s=timeout_s).json()

    def renew_subscription(self, user_id: int, charge_id: str, *, fail: bool = False) -> dict[str, Any]:
        """The subscription paid by ``charge_id`` (any of its charges) falls due: Telegram charges
        the next period and tells the bot (``{"outcome": "paid", ...}``), or with ``fail`` the user
        had not the Stars (``{"outcome": "failed"}``: it lapses, the bot hears nothing)."""
        self._last_chat = user_id
        body = {"user_id": user_id, "charge_id": charge_id, "fail": fail}
        return self._call("POST", "/_sandbox/telegram/subscriptions/renew", body).json()

    def cancel_subscription(self, user_id: int, charge_id: str) -> dict[str, Any]:
        """The user cancels the subscription in Telegram: no more renewals; the bot is not told."""
        self._last_chat = user_id
        body = {"user_id": user_id, "charge_id": charge_id}
        return self._call("POST", "/_sandbox/telegram/subscriptions/cancel", body).json()

    def subscriptions(self) -> list[dict[str, Any]]:
        """The bot's subscriptions (``first_charge_id``, ``renews``, ``expiration_date``, ...)."""
        return self.stars()["subscriptions"]

    def stars(self) -> dict[str, Any]:
        """The bot's Stars: ``{"balance", "transactions", "charges", "refunds", "subscriptions"}``."""
        return self._call("GET", "/_sandbox/telegram/stars").json()

    def star_transactions(self) -> list[dict[str, Any]]:
        """The bot's StarTransaction objects, oldest first, as getStarTransactions lists them."""
        return self.stars()["transactions"]

    def refunds(self) -> list[dict[str, Any]]:
        """The refunded charges (``telegram_payment_charge_id``, ``user_id``, ``total_amount``, ...)."""
        return self.stars()["refunds"]

    def duplicate_next_payment(self, *, chat_id: int | None = None, count: int = 1) -> dict[str, Any]:
        """Fault: the next ``count`` successful_payment messages (in ``chat_id``) reach the bot twice."""
        match = {"chat_id": chat_id} if chat_id is not None else {}
        return self.add_fault("duplicate_payment", match=match, count=count)

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An update of any ``kind`` with ``payload`` as is (``{"update_id"}``; None when the bot
        did not ask for that kind in allowed_updates)."""
        return self._call("POST", "/_sandbox/telegram/updates", {"kind": kind, "payload": payload}).json()

    def block(self, user_id: int) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/telegram/users/{user_id}/block").json()

    def unblock(self, user_id: int) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/telegram/users/{user_id}/unblock").json()

    def transcript(self, chat_id: int) -> dict[str, Any]:
        """``{"events": [...], "messages": {message_id: state}}`` of a chat."""
        return self._call("GET", f"/_sandbox/telegram/chats/{chat_id}/transcript").json()

    def file_bytes(self, file_id: str) -> bytes:
        return self._call("GET", f"/_sandbox/telegram/files/{file_id}").content

    def set_limits(self, **limits: Any) -> dict[str, Any]:
        """Change flood, per_chat_burst, per_chat_rate, global_burst, global_rate, upload_limit_mb,
        download_limit_mb, callback_timeout_s or pre_checkout_timeout_s; returns them all."""
        return self._call("POST", "/_sandbox/telegram/limits", limits).json()

    def register_token(self, token: str) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/telegram/tokens", {"token": token}).json()

    def add_fault(self, fault: str, *, match: dict[str, Any] | None = None, count: int | None = None,
                  rate: float = 1.0, **params: Any) -> dict[str, Any]:  # fmt: skip
        """Inject ``fault`` (e.g. ``add_fault("retry_after", retry_after=3, match={"method": "sendVideo"})``)."""
        body = {"fault": fault, "match": match or {}, "count": count, "rate": rate, "params": params}
        return self._call("POST", "/_sandbox/scenario", body).json()

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/scenario")

    def calls(self) -> dict[str, int]:
        """How many calls each Bot API method received (``file`` counts downloads)."""
        return self._call("GET", "/_sandbox/calls").json()

    def reset(self) -> None:
        """Forget chats, updates, files, Stars, faults and call counts; restore the limits."""
        self._call("POST", "/_sandbox/reset")

    def wait_for(self, predicate: Callable[[dict[str, Any]], T], timeout: float = 10.0, *,
                 chat_id: int | None = None, interval: float = 0.02) -> T:  # fmt: skip
        """Poll the transcript of ``chat_id`` (default: the last user this client acted as) until
        ``predicate(transcript)`` is truthy; return that value, or raise TimeoutError."""
        chat_id = self._last_chat if chat_id is None else chat_id
        if chat_id is None:
            raise ValueError("wait_for needs a chat_id until this client has acted as a user")
        deadline = time.monotonic() + timeout
        while True:
            transcript = self.transcript(chat_id)
            value = predicate(transcript)
            if value:
                return value
            if time.monotonic() > deadline:
                last = transcript["events"][-5:]
                raise TimeoutError(f"chat {chat_id}: condition not met in {timeout} s; last events: {last}")
            time.sleep(interval)
