"""KIE.AI: upload the product photo, create an image-to-video task, read its status.

A thin, synchronous httpx client: it runs inside Dramatiq worker threads, and it
knows nothing of jobs, credits or the database.  The API it speaks is described
in ``shared/API_FACTS.md`` §1; where the documentation contradicts itself the
client accepts every documented shape.

Failures: an answer whose HTTP status or body ``code`` is not 200 raises
:class:`KieApiError`; transport errors (``httpx.ConnectError``,
``httpx.TimeoutException``, …) propagate unchanged for the caller's error
taxonomy.  The API key lives only in the HTTP client's headers: it is never put
in an exception, a repr or a log line.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

import httpx

from neurocards.logs import scrub

from .kie_models import model_spec

__all__ = ["KieClient", "KieApiError", "TaskStatus", "is_veo_model"]

logger = logging.getLogger(__name__)

#: Uploads up to this size go base64-encoded in JSON; larger ones as a multipart stream (§1.6).
BASE64_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
#: Where our uploads live in KIE's file store.
UPLOAD_PATH = "images/neurocards"
#: Record-lookup messages that mean "created, not recorded yet": the task is still pending.
NOT_YET_RECORDED = ("record is null", "recordinfo is null")
#: The code reported for a 200 answer we cannot read (not JSON, no task id, no file URL).
UNREADABLE_ANSWER_CODE = 500

TaskState = Literal["pending", "success", "failed"]


@dataclass(frozen=True)
class TaskStatus:
    """Where one generation task stands, whichever API (Veo or market) it runs on."""

    task_id: str
    state: TaskState
    result_url: str | None = None
    fail_code: int | None = None
    fail_message: str = ""
    cost_credits: float | None = None  # what KIE says the task consumed (``consumeCredits``), where it says


class KieApiError(Exception):
    """KIE.AI answered, but not with success.

    ``code`` is the body's business code (§1.2), or the HTTP status when the
    body carries none; ``retry_after`` is the Retry-After header in seconds.
    """

    def __init__(self, http_status: int, code: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"KIE.AI code {code} (HTTP {http_status}): {message}")
        self.http_status = http_status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __reduce__(self) -> tuple:
        # Picklable with its fields, not with the formatted message alone.
        return type(self), (self.http_status, self.code, self.message, self.retry_after)


def is_veo_model(model: str) -> bool:
    """Whether ``model`` runs on the Veo API (``veo3``, ``veo3_fast``, …) rather than the market."""
    return model_spec(model).api == "veo"


class KieClient:
    """The KIE.AI calls Neurocards makes: upload, create, poll; plus callback helpers."""

    def __init__(
        self,
        base_url: str,
        upload_url: str,
        api_key: str,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.upload_url = upload_url.rstrip("/")
        self._secrets = (api_key,)
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"KieClient(base_url={self.base_url!r}, upload_url={self.upload_url!r})"

    # -- uploads ------------------------------------------------------------------

    def upload_image(self, data: bytes, file_name: str, mime_type: str) -> str:
        """Upload a photo to KIE's file store and return its public URL.

        Image-to-video models want a public URL, and the Telegram file URL carries
        the bot token, so the photo goes through KIE first.  Each upload gets a
        unique name because the same name overwrites the earlier file.
        """
        name = unique_file_name(file_name)
        if len(data) <= BASE64_UPLOAD_MAX_BYTES:
            encoded = base64.b64encode(data).decode("ascii")
            body = {"base64Data": f"data:{mime_type};base64,{encoded}", "uploadPath": UPLOAD_PATH, "fileName": name}
            answer = self._call("POST", f"{self.upload_url}/api/file-base64-upload", json=body)
        else:
            form = {"uploadPath": UPLOAD_PATH, "fileName": name}
            files = {"file": (name, data, mime_type)}
            answer = self._call("POST", f"{self.upload_url}/api/file-stream-upload", data=form, files=files)
        info = answer.get("data") or {}
        url = info.get("downloadUrl") or info.get("fileUrl")
        if not url:
            raise KieApiError(200, UNREADABLE_ANSWER_CODE, "upload answer carries no downloadUrl")
        return url

    # -- tasks ----------------------------------------------------------------------

    def create_task(
        self,
        *,
        model: str,
        prompt: str,
        image_url: str,
        aspect_ratio: str = "9:16",
        callback_url: str | None = None,
        references: Sequence[str] = (),
    ) -> str:
        """Start an image-to-video generation and return its task id.

        ``references`` are the product's other photos: they go with the first as
        reference images where ``model`` takes them (:mod:`.kie_models`), and are
        left out where it does not.
        """
        spec = model_spec(model)
        images = [image_url, *references][: spec.max_photos]
        if spec.api == "veo":
            path, body = "/api/v1/veo/generate", veo_request(model, prompt, images, aspect_ratio)
        else:
            path, body = "/api/v1/jobs/createTask", market_request(model, prompt, images[0], aspect_ratio)
        if callback_url:
            body["callBackUrl"] = callback_url
        answer = self._call("POST", self.base_url + path, json=body)
        task_id = (answer.get("data") or {}).get("taskId")
        if not task_id:
            raise KieApiError(200, UNREADABLE_ANSWER_CODE, "create answer carries no taskId")
        logger.info("KIE task %s created with model %s (%d image(s))", task_id, model, len(images))
        return str(task_id)

    def get_task(self, task_id: str, model: str) -> TaskStatus:
        """Ask once where a task stands; "record is null" right after create reads as pending."""
        if is_veo_model(model):
            url, read = f"{self.base_url}/api/v1/veo/record-info", veo_status
        else:
            url, read = f"{self.base_url}/api/v1/jobs/recordInfo", market_status
        try:
            answer = self._call("GET", url, params={"taskId": task_id})
        except KieApiError as exc:
            if exc.code == 422 and any(phrase in exc.message.lower() for phrase in NOT_YET_RECORDED):
                return TaskStatus(task_id, "pending")
            raise
        return read(task_id, answer.get("data") or {})

    def get_credit(self) -> float:
        """The account's remaining credits (``GET /api/v1/chat/credit``; ``data`` read
        as a number, or an object with ``credits``/``balance``: the shape is UNCONFIRMED)."""
        data = self._call("GET", f"{self.base_url}/api/v1/chat/credit").get("data")
        if isinstance(data, dict):
            data = data.get("credits", data.get("balance"))
        balance = _as_float(data)
        if balance is None:
            raise KieApiError(200, UNREADABLE_ANSWER_CODE, "credit answer carries no balance")
        return balance

    # -- callbacks ------------------------------------------------------------------

    @staticmethod
    def parse_callback(payload: dict[str, Any]) -> TaskStatus:
        """Read a callback body: the Veo shape (§1.3) or the market one (the recordInfo shape, §1.4)."""
        data = payload.get("data") or {}
        task_id = str(data.get("taskId") or data.get("task_id") or "")
        if "state" in data:
            return market_status(task_id, data)
        code = _as_int(payload.get("code"))
        if code != 200:
            return TaskStatus(task_id, "failed", None, code, _message(payload))
        url = result_url(data.get("info") or data.get("response") or {})
        return TaskStatus(task_id, "success" if url else "pending", url)

    @staticmethod
    def verify_signature(task_id: str, timestamp: str, signature: str, hmac_key: str) -> bool:
        """Check ``X-Webhook-Signature``: base64(HMAC-SHA256(taskId + "." + timestamp)) (§1.7)."""
        if not (signature and hmac_key):
            return False
        digest = hmac.new(hmac_key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode("ascii")
        return hmac.compare_digest(expected.encode(), signature.encode())

    # -- plumbing -------------------------------------------------------------------

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """One request; the answer's JSON body, or :class:`KieApiError` naming what went wrong."""
        response = self._http.request(method, url, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._error(response, None, f"unreadable answer: {response.text[:120]!r}")
        code = _as_int(body.get("code"))
        if response.status_code != 200 or (code is not None and code != 200):
            raise self._error(response, code, _message(body))
        return body

    def _error(self, response: httpx.Response, code: int | None, message: str) -> KieApiError:
        status = response.status_code
        if code is None:
            code = UNREADABLE_ANSWER_CODE if status == 200 else status
        retry_after = retry_after_s(response.headers.get("Retry-After"))
        return KieApiError(status, code, scrub(message, self._secrets), retry_after)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KieClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- request bodies -------------------------------------------------------------------


def veo_request(model: str, prompt: str, images: str | Sequence[str], aspect_ratio: str) -> dict[str, Any]:
    """The Veo generate body.  One image: ``generationType`` left for KIE to infer
    (the video unfolds around it); two or three: ``REFERENCE_2_VIDEO`` said
    outright, since two alone would read as first and last frames (§1.3)."""
    images = [images] if isinstance(images, str) else list(images)
    body: dict[str, Any] = {"generationType": "REFERENCE_2_VIDEO"} if len(images) > 1 else {}
    return body | {
        "prompt": prompt,
        "imageUrls": images,
        "model": model,
        # The OpenAPI body says aspect_ratio, the quickstart sample and the callback's
        # promptJson say aspectRatio; which one the server reads is unconfirmed (§1.3).
        "aspect_ratio": aspect_ratio,
        "aspectRatio": aspect_ratio,
        "enableTranslation": True,
    }


def market_request(model: str, prompt: str, image_url: str, aspect_ratio: str) -> dict[str, Any]:
    """The jobs/createTask body, with the input fields each documented model requires (§1.4)."""
    fields: dict[str, Any] = {"prompt": prompt, "image_urls": [image_url]}
    if model.startswith("kling"):
        fields |= {"sound": False, "duration": "5"}
    elif model.startswith("sora"):
        fields |= {"aspect_ratio": "landscape" if aspect_ratio == "16:9" else "portrait", "n_frames": "10"}
    return {"model": model, "input": fields}


# -- answers ------------------------------------------------------------------------


def veo_status(task_id: str, data: dict[str, Any]) -> TaskStatus:
    """Read a Veo record: successFlag 0 generating, 1 success, 2 and 3 failed.

    Flag 1 can come before the URL is filled (an upscale pass), so success
    without a URL still reads as pending.
    """
    flag = _as_int(data.get("successFlag"))
    if flag in (2, 3):
        return TaskStatus(task_id, "failed", None, _as_int(data.get("errorCode")), data.get("errorMessage") or "")
    url = result_url(data.get("response") or {}) if flag == 1 else None
    return TaskStatus(task_id, "success" if url else "pending", url, cost_credits=_as_float(data.get("consumeCredits")))


def market_status(task_id: str, data: dict[str, Any]) -> TaskStatus:
    """Read a market record: waiting/queuing/generating pending, success, fail."""
    task_id = task_id or str(data.get("taskId") or "")
    state = data.get("state")
    if state == "fail":
        return TaskStatus(task_id, "failed", None, _as_int(data.get("failCode")), data.get("failMsg") or "")
    url = result_url(_json_object(data.get("resultJson"))) if state == "success" else None
    return TaskStatus(task_id, "success" if url else "pending", url, cost_credits=_as_float(data.get("consumeCredits")))


def result_url(container: dict[str, Any]) -> str | None:
    """The first video URL: ``originUrls`` (kept at 9:16), then ``resultUrls``."""
    for key in ("originUrls", "resultUrls"):
        urls = _url_list(container.get(key))
        if urls:
            return urls[0]
    return None


def _url_list(value: Any) -> list[str]:
    """A URL list given as a list, a JSON string, or the schema's bare ``'[http://…]'`` string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [part.strip(" '\"") for part in value.strip().strip("[]").split(",")]
    if isinstance(value, str):
        value = [value]
    return [str(url) for url in value if url] if isinstance(value, list) else []


def _json_object(value: Any) -> dict[str, Any]:
    """``resultJson`` is documented as a JSON string; accept an object too."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            logger.warning("KIE resultJson is not JSON: %.120r", value)
            return {}
    return value if isinstance(value, dict) else {}


def _message(body: dict[str, Any]) -> str:
    """The envelope message: ``msg`` in the OpenAPI copy, ``message`` in the markdown one."""
    return str(body.get("msg") or body.get("message") or "")


def _as_float(value: Any) -> float | None:
    """A number KIE sent (``consumeCredits``: UNCONFIRMED, read only when it is one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def _as_int(value: Any) -> int | None:
    """Codes come as ints, or as strings (market ``failCode``)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def retry_after_s(header: str | None) -> float | None:
    """A Retry-After header in seconds: delta-seconds or an HTTP date."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def unique_file_name(file_name: str) -> str:
    """``photo.jpg`` -> ``photo-<random>.jpg``: safe characters, never reused."""
    path = PurePosixPath(file_name.replace("\\", "/")).name or "photo"
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", PurePosixPath(path).stem).strip("-")[:40] or "photo"
    suffix = re.sub(r"[^A-Za-z0-9.]+", "", PurePosixPath(path).suffix)[:10]
    return f"{stem}-{uuid.uuid4().hex[:16]}{suffix}"
