"""KIE contract: callbacks arrive in the documented shapes (signed, failed, doubled, missing), and
result downloads misbehave exactly as the download faults say."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from neurocards.clients.kie import KieClient, TaskStatus
from neurocards.sandbox.kie_clips import clip
from tests.sandbox.kie_support import (  # noqa: F401  (fixtures)
    HMAC_KEY,
    KLING,
    VEO,
    callbacks_at,
    clean_kie,
    client,
    configure,
    fault,
    kie,
    new_task,
    receiver,
    sandbox_task,
    settle,
)

# -- callbacks ------------------------------------------------------------------------


def test_veo_success_callback_is_documented_shape_and_signed(kie, client, receiver):
    # Given an HMAC key and a callback URL
    configure(kie, hmac_key=HMAC_KEY)
    path = f"/kie/callback/{uuid.uuid4().hex}"
    # When a Veo task finishes
    task_id = new_task(client, callback_url=receiver.url + path)
    [hit] = callbacks_at(receiver, path, 1)
    # Then the body is the documented success shape, and the signature verifies
    body = hit["json"]
    assert (body["code"], body["msg"]) == (200, "Veo3.1 video generated successfully.")
    assert body["data"]["taskId"] == task_id and isinstance(body["data"]["info"]["resultUrls"], list)
    status = KieClient.parse_callback(body)
    assert status.state == "success" and status.result_url.endswith(f"{task_id}.mp4")
    timestamp, signature = hit["headers"]["X-Webhook-Timestamp"], hit["headers"]["X-Webhook-Signature"]
    assert KieClient.verify_signature(task_id, timestamp, signature, HMAC_KEY)
    assert not KieClient.verify_signature(task_id, timestamp, signature, "another-key")
    assert not KieClient.verify_signature("veo_task_other", timestamp, signature, HMAC_KEY)


def test_veo_failure_callback_carries_the_code(kie, client, receiver):
    # Given the task will fail generation
    fault(kie, "success_flag", count=1, params={"flag": 3, "errorCode": 501, "errorMessage": "Generation Failed"})
    path = f"/kie/callback/{uuid.uuid4().hex}"
    # When it finishes
    task_id = new_task(client, callback_url=receiver.url + path)
    [hit] = callbacks_at(receiver, path, 1)
    # Then the failure shape arrives, unsigned without a key, and parses as failed
    assert hit["json"] == {"code": 501, "msg": "Generation Failed", "data": {"taskId": task_id}}
    assert "X-Webhook-Signature" not in hit["headers"]
    assert KieClient.parse_callback(hit["json"]) == TaskStatus(task_id, "failed", None, 501, "Generation Failed")


def test_callback_twice_delivers_the_same_body_twice(kie, client, receiver):
    # Given the callback will be delivered twice
    fault(kie, "callback_twice", count=1)
    path = f"/kie/callback/{uuid.uuid4().hex}"
    # When the task finishes
    task_id = new_task(client, callback_url=receiver.url + path)
    hits = callbacks_at(receiver, path, 2)
    # Then both bodies are the same and the stand-in saw two 200 deliveries
    assert hits[0]["json"] == hits[1]["json"]
    assert [d["status"] for d in sandbox_task(kie, task_id)["deliveries"]] == [200, 200]


def test_no_callback_means_no_delivery(kie, client, receiver):
    # Given the task's callback will not be sent
    fault(kie, "no_callback", count=1)
    path = f"/kie/callback/{uuid.uuid4().hex}"
    # When the task finishes
    task_id = new_task(client, callback_url=receiver.url + path)
    settle(client, task_id, VEO)
    # Then the stand-in planned and made no delivery, so polling is the only way to learn the result
    described = sandbox_task(kie, task_id)
    assert (described["state"], described["callbacks_planned"], described["deliveries"]) == ("success", 0, [])


def test_market_callback_is_the_record_info_shape(client, receiver):
    # Given a Kling task with a callback
    path = f"/kie/callback/{uuid.uuid4().hex}"
    # When it finishes
    task_id = new_task(client, model=KLING, callback_url=receiver.url + path)
    [hit] = callbacks_at(receiver, path, 1)
    # Then the body is a recordInfo record with resultJson as a JSON string
    data = hit["json"]["data"]
    assert (data["taskId"], data["state"]) == (task_id, "success") and isinstance(data["resultJson"], str)
    assert KieClient.parse_callback(hit["json"]).result_url == json.loads(data["resultJson"])["resultUrls"][0]


def test_parse_callback_accepts_the_schema_string_form_and_snake_task_id():
    # Given the OpenAPI schema's string-typed resultUrls and the JS snippet's task_id
    payload = {"code": 200, "msg": "ok", "data": {"task_id": "veo_task_1", "info": {"resultUrls": "[http://cdn/a.mp4]"}}}
    quoted = {"code": 200, "msg": "ok", "data": {"taskId": "veo_task_2", "info": {"resultUrls": '["http://cdn/b.mp4"]'}}}
    # When they are parsed
    # Then both give the URL
    assert KieClient.parse_callback(payload) == TaskStatus("veo_task_1", "success", "http://cdn/a.mp4")
    assert KieClient.parse_callback(quoted).result_url == "http://cdn/b.mp4"


# -- downloads ------------------------------------------------------------------------


def finished_video_url(client: KieClient) -> tuple[str, str]:
    task_id = new_task(client)
    return task_id, settle(client, task_id, VEO)[-1].result_url


def test_download_huge_promises_more_than_50_mb(kie, client):
    # Given a result that is 51 MB
    task_id, url = finished_video_url(client)
    fault(kie, "download_huge", count=1, match={"task_id": task_id})
    # When it is streamed and only its first chunk read
    with httpx.stream("GET", url) as answer:
        head = next(answer.iter_raw())
        # Then Content-Length says 51 MB, the bytes look like an mp4, and we stopped early
        assert int(answer.headers["content-length"]) == 51 * 1024 * 1024
        assert answer.headers["content-type"] == "video/mp4" and head[4:8] == b"ftyp"


def test_download_cut_breaks_the_transfer(kie, client):
    # Given a result whose connection drops half-way
    task_id, url = finished_video_url(client)
    fault(kie, "download_cut", count=1, match={"task_id": task_id})
    # When it is downloaded
    # Then httpx sees the body end early
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(url)


def test_download_wrong_type_is_an_html_page(kie, client):
    # Given a result URL that answers with a bot-check page
    task_id, url = finished_video_url(client)
    fault(kie, "download_wrong_type", count=1, match={"task_id": task_id})
    # When it is downloaded
    answer = httpx.get(url)
    # Then the content type says HTML, not video
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")


def test_download_slow_still_delivers_the_whole_video(kie, client):
    # Given a result served slowly, chunk by chunk
    task_id, url = finished_video_url(client)
    fault(kie, "download_slow", count=1, match={"task_id": task_id}, params={"delay_s": 0.01})
    # When it is downloaded in chunks
    with httpx.stream("GET", url) as answer:
        chunks = list(answer.iter_raw())
    # Then it came in several pieces that add up to the stand-in's clip
    assert len(chunks) > 1 and b"".join(chunks) in (clip("9:16"), clip("16:9"))
