"""KIE contract: uploads give public URLs in the documented shape; a wrong key is a 401 that never leaks."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from neurocards.clients.kie import KieApiError, KieClient
from neurocards.settings import SANDBOX_API_KEY
from tests.sandbox.kie_support import PHOTO, bearer, calls
from tests.sandbox.kie_support import clean_kie, client, kie  # noqa: F401  (fixtures)


# -- upload ---------------------------------------------------------------------------


def test_upload_gives_a_public_url_serving_the_same_bytes(kie, client):
    # Given a product photo
    # When it is uploaded twice under the same name
    first = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    second = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    # Then each URL is public (no key), serves the bytes, and the names never collide
    answer = httpx.get(first)
    assert answer.status_code == 200 and answer.content == PHOTO
    assert answer.headers["content-type"] == "image/jpeg"
    assert first != second and "/images/neurocards/" in first
    assert calls(kie)["POST /api/file-base64-upload"] == 2


def test_a_photo_over_10_mb_goes_through_the_stream_upload(kie, client):
    # Given a photo just over the base64 limit
    big = PHOTO + bytes(10 * 1024 * 1024)
    # When it is uploaded
    url = client.upload_image(big, "big.png", "image/png")
    # Then the multipart endpoint took it, and the URL serves it whole
    assert calls(kie).get("POST /api/file-stream-upload") == 1
    assert "POST /api/file-base64-upload" not in calls(kie)
    assert httpx.get(url).content == big


def test_upload_accepts_plain_base64_and_answers_in_the_documented_shape(kie):
    # Given a plain (not data-URL) base64 body, sent raw
    body = {"base64Data": base64.b64encode(PHOTO).decode(), "uploadPath": "images/test", "fileName": "a.jpg"}
    # When it is posted with the key
    answer = httpx.post(f"{kie.url}/api/file-base64-upload", json=body, headers=bearer(SANDBOX_API_KEY)).json()
    # Then the answer carries every documented field
    assert answer["success"] is True and answer["code"] == 200
    data = answer["data"]
    assert set(data) == {"fileName", "filePath", "downloadUrl", "fileSize", "mimeType", "uploadedAt"}
    assert (data["filePath"], data["fileSize"], data["mimeType"]) == ("images/test/a.jpg", len(PHOTO), "image/jpeg")


# -- auth -----------------------------------------------------------------------------


def test_a_wrong_key_is_401_and_the_key_never_shows(kie):
    # Given a client with a wrong key
    wrong_key = f"kie-wrong-{uuid.uuid4().hex}"
    with KieClient(kie.url, kie.url, wrong_key, timeout_s=10) as client:
        # When it uploads
        with pytest.raises(KieApiError) as caught:
            client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
        # Then 401 comes back with the documented message, and the key is nowhere
        assert caught.value.code == 401
        assert caught.value.message == "You do not have access permissions"
        for text in (str(caught.value), repr(caught.value), repr(client), str(caught.value.args)):
            assert wrong_key not in text
