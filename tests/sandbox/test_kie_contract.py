"""Contract tests: our KieClient against the KIE.AI stand-in, both held to API_FACTS §1.

The stand-in validates every request the way the documentation describes, so a
wrong field name or shape in the client fails here; every fault must reach our
code as the documented answer (a KieApiError with the business code, or a
failed TaskStatus), so the pipeline tests built on the stand-in mean something.
"""

from __future__ import annotations

import base64
import json
import pickle
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from neurocards.clients.kie import KieApiError, KieClient, TaskStatus
from neurocards.sandbox.kie import create_app
from neurocards.sandbox.server import ThreadedApp
from neurocards.settings import SANDBOX_API_KEY

VEO = "veo3_fast"
KLING = "kling-2.6/image-to-video"
SORA = "sora-2-image-to-video"
PROMPT = "The mug slowly turns on a wooden table, steam rising, soft morning light"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
SAMPLE_MP4 = Path(__file__).resolve().parents[2] / "neurocards" / "sandbox" / "assets" / "sample.mp4"
HMAC_KEY = "whsec-neurocards-test"
DEADLINE_S = 10.0


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kie():
    with ThreadedApp(lambda: create_app(generation_s=0.1)) as app:
        yield app


@pytest.fixture(autouse=True)
def clean_kie(kie):
    httpx.post(f"{kie.url}/_sandbox/reset").raise_for_status()


@pytest.fixture
def client(kie):
    with KieClient(kie.url, kie.url, SANDBOX_API_KEY, timeout_s=10) as client:
        yield client


@pytest.fixture(scope="module")
def receiver():
    """A tiny callback receiver: every POST body and its headers land in ``app.received``."""
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        received.append({"path": request.path, "headers": dict(request.headers), "json": await request.json()})
        return web.json_response({"ok": True})

    def factory() -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", hook)
        return app

    with ThreadedApp(factory) as app:
        app.received = received
        yield app


# -- helpers --------------------------------------------------------------------------


def fault(kie, name: str, **entry) -> None:
    httpx.post(f"{kie.url}/_sandbox/scenario", json={"fault": name, **entry}).raise_for_status()


def configure(kie, **config) -> dict:
    answer = httpx.post(f"{kie.url}/_sandbox/kie/config", json=config)
    answer.raise_for_status()
    return answer.json()


def sandbox_task(kie, task_id: str) -> dict:
    answer = httpx.get(f"{kie.url}/_sandbox/kie/tasks/{task_id}")
    answer.raise_for_status()
    return answer.json()


def calls(kie) -> dict[str, int]:
    return httpx.get(f"{kie.url}/_sandbox/calls").json()


def settle(client: KieClient, task_id: str, model: str) -> list[TaskStatus]:
    """Poll until the task leaves pending; every status seen, in order."""
    seen: list[TaskStatus] = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        seen.append(client.get_task(task_id, model))
        if seen[-1].state != "pending":
            return seen
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} still pending after {DEADLINE_S} s: {seen[-1]}")


def callbacks_at(receiver, path: str, count: int) -> list[dict]:
    """Wait until ``count`` callbacks reached ``path``; return them."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        hits = [hit for hit in receiver.received if hit["path"] == path]
        if len(hits) >= count:
            return hits
        time.sleep(0.02)
    raise AssertionError(f"{count} callbacks expected at {path}, got {len(hits)}")


def new_task(client: KieClient, model: str = VEO, **kwargs) -> str:
    image_url = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    return client.create_task(model=model, prompt=PROMPT, image_url=image_url, **kwargs)


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


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# -- Veo ------------------------------------------------------------------------------


def test_veo_task_is_pending_until_done_then_points_at_a_playable_mp4(kie, client):
    # Given a Veo task that takes a minute
    configure(kie, generation_s=60)
    task_id = new_task(client)
    # When it is polled, then finished
    pending = client.get_task(task_id, VEO)
    httpx.post(f"{kie.url}/_sandbox/kie/tasks/{task_id}/complete").raise_for_status()
    done = client.get_task(task_id, VEO)
    # Then it reads pending, then success with the stand-in's real vertical mp4
    assert pending == TaskStatus(task_id, "pending")
    assert done.state == "success" and done.result_url.endswith(f"/files/results/{task_id}.mp4")
    video = httpx.get(done.result_url)
    assert video.headers["content-type"] == "video/mp4"
    assert video.content == SAMPLE_MP4.read_bytes() and video.content[4:8] == b"ftyp"


def test_veo_request_carries_the_documented_fields(kie, client):
    # Given a Veo task created with a callback
    task_id = new_task(client, model="veo3", callback_url="https://bot.example/kie/callback/1/secret")
    # When the stand-in shows what it received
    request = sandbox_task(kie, task_id)["request"]
    # Then both aspect-ratio spellings, one public image URL and the callback are there
    assert request["aspect_ratio"] == request["aspectRatio"] == "9:16"
    assert request["model"] == "veo3" and request["prompt"] == PROMPT
    assert len(request["imageUrls"]) == 1 and httpx.get(request["imageUrls"][0]).content == PHOTO
    assert request["callBackUrl"] == "https://bot.example/kie/callback/1/secret"
    assert "generationType" not in request and "enableFallback" not in request


def test_veo_task_finishes_on_its_own_clock(client):
    # Given the stand-in's 0.1 s generation time
    # When a task is polled until it settles
    seen = settle(client, new_task(client), VEO)
    # Then it ends in success with a URL
    assert seen[-1].state == "success" and seen[-1].result_url


def test_veo_record_info_answers_in_the_documented_shape(kie, client):
    # Given a finished 9:16 Veo task
    task_id = new_task(client)
    settle(client, task_id, VEO)
    # When record-info is read raw
    answer = httpx.get(f"{kie.url}/api/v1/veo/record-info", params={"taskId": task_id}, headers=bearer(SANDBOX_API_KEY))
    data = answer.json()["data"]
    # Then successFlag is 1 and originUrls is filled (not 16:9)
    assert data["successFlag"] == 1 and data["errorCode"] is None
    assert data["response"]["originUrls"] == data["response"]["resultUrls"]
    assert json.loads(data["paramJson"])["model"] == VEO
    assert data["completeTime"] >= data["createTime"]


def test_an_undocumented_veo_model_is_refused_with_422(client):
    # Given a model id seen in public code but not in the documented enum
    image_url = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    # When a task is created with it
    with pytest.raises(KieApiError) as caught:
        client.create_task(model="veo3_quality", prompt=PROMPT, image_url=image_url)
    # Then the stand-in refuses it as a validation error
    assert (caught.value.code, caught.value.http_status) == (422, 200)
    assert "model" in caught.value.message


@pytest.mark.parametrize(
    "body, field",
    [
        ({"imageUrls": ["https://example.com/a.jpg"]}, "prompt"),
        ({"prompt": PROMPT, "imageUrls": ["not a url"]}, "imageUrls"),
        ({"prompt": PROMPT, "aspect_ratio": "4:3"}, "aspect_ratio"),
    ],
)
def test_veo_generate_validates_its_body(kie, body, field):
    # Given a Veo body with one documented rule broken
    # When it is posted
    answer = httpx.post(f"{kie.url}/api/v1/veo/generate", json=body, headers=bearer(SANDBOX_API_KEY)).json()
    # Then it is refused with 422 naming the field
    assert answer["code"] == 422 and field in answer["msg"]


# -- market ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, required",
    [(KLING, {"sound": False, "duration": "5"}), (SORA, {"aspect_ratio": "portrait", "n_frames": "10"})],
)
def test_market_task_carries_required_inputs_and_settles_with_result_json(kie, client, model, required):
    # Given a market model
    # When a task is created and polled until it settles
    task_id = new_task(client, model=model)
    seen = settle(client, task_id, model)
    # Then the request held the model's required inputs and resultJson gave the URL
    sent = sandbox_task(kie, task_id)["request"]
    assert sent["model"] == model and required.items() <= sent["input"].items()
    assert len(sent["input"]["image_urls"]) == 1
    assert seen[-1].state == "success" and seen[-1].result_url.endswith(f"{task_id}.mp4")
    assert calls(kie)["POST /api/v1/jobs/createTask"] == 1


def test_market_record_info_answers_in_the_documented_shape(kie, client):
    # Given a finished Kling task
    task_id = new_task(client, model=KLING)
    settle(client, task_id, KLING)
    # When recordInfo is read raw
    answer = httpx.get(f"{kie.url}/api/v1/jobs/recordInfo", params={"taskId": task_id}, headers=bearer(SANDBOX_API_KEY))
    data = answer.json()["data"]
    # Then resultJson is a JSON string and the fail fields are empty
    assert data["state"] == "success" and isinstance(data["resultJson"], str)
    assert json.loads(data["resultJson"])["resultUrls"][0].endswith(".mp4")
    assert (data["failCode"], data["failMsg"]) == ("", "")
    assert data["costTime"] >= 0 and data["model"] == KLING


def test_market_failure_reads_fail_code_and_message(kie, client):
    # Given a Sora task that fails with the documented example
    message = "Invalid prompt: prompt contains prohibited content"
    fault(kie, "success_flag", count=1, params={"errorCode": 422, "errorMessage": message})
    # When it is polled until it settles
    status = settle(client, new_task(client, model=SORA), SORA)[-1]
    # Then failCode (a string on the wire) arrives as an int
    assert (status.state, status.fail_code) == ("failed", 422)
    assert status.fail_message == message


def test_unknown_market_task_is_not_found(client):
    # Given no such task
    # When it is polled
    with pytest.raises(KieApiError) as caught:
        client.get_task("task_kling-2.6_0", KLING)
    # Then the documented 404 comes back
    assert caught.value.code == 404


# -- faults: business codes and HTTP statuses ---------------------------------------


@pytest.mark.parametrize("code", [401, 402, 422, 429, 433, 455, 500, 501])
def test_every_body_code_at_create_reaches_us_as_kie_api_error(kie, client, code):
    # Given the create endpoint answers with this business code inside HTTP 200
    image_url = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    fault(kie, "code", count=1, match={"endpoint": "generate"}, params={"code": code})
    # When a task is created
    with pytest.raises(KieApiError) as caught:
        client.create_task(model=VEO, prompt=PROMPT, image_url=image_url)
    # Then the error carries the code, HTTP 200 and a message
    assert (caught.value.code, caught.value.http_status) == (code, 200)
    assert caught.value.message


@pytest.mark.parametrize(
    "endpoint, model",
    [("record-info", VEO), ("recordInfo", KLING), ("upload", VEO)],
)
def test_body_codes_on_poll_and_upload_endpoints_reach_us(kie, client, endpoint, model):
    # Given a task, and a 455 (maintenance) on one endpoint
    task_id = new_task(client, model=model)
    fault(kie, "code", count=1, match={"endpoint": endpoint}, params={"code": 455, "msg": "maintenance"})
    # When that endpoint is called
    with pytest.raises(KieApiError) as caught:
        if endpoint == "upload":
            client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
        else:
            client.get_task(task_id, model)
    # Then the code and message come through
    assert (caught.value.code, caught.value.message) == (455, "maintenance")


def test_a_real_http_status_carries_retry_after(kie, client):
    # Given the gateway answers 503 with Retry-After
    fault(kie, "http_status", count=1, params={"status": 503, "retry_after": 7})
    # When a task is polled
    with pytest.raises(KieApiError) as caught:
        client.get_task("veo_task_x", VEO)
    # Then the status, code and retry hint are there, and survive pickling (broker round trips)
    assert (caught.value.http_status, caught.value.code, caught.value.retry_after) == (503, 503, 7.0)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.http_status, copy.code, copy.message, copy.retry_after, str(copy)) == (
        503, 503, caught.value.message, 7.0, str(caught.value)
    )


def test_an_html_error_page_is_an_api_error_with_the_http_status(kie, client):
    # Given a proxy's HTML error page
    fault(kie, "http_status", count=1, params={"status": 502, "html": True})
    # When a task is created
    with pytest.raises(KieApiError) as caught:
        new_task(client)
    # Then the HTTP status is the code
    assert (caught.value.http_status, caught.value.code) == (502, 502)


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


def test_the_create_limit_refuses_the_21st_create_within_10_s(kie, client):
    # Given 20 creates in a burst
    image_url = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    for _ in range(20):
        client.create_task(model=VEO, prompt=PROMPT, image_url=image_url)
    # When a 21st follows
    with pytest.raises(KieApiError) as caught:
        client.create_task(model=VEO, prompt=PROMPT, image_url=image_url)
    # Then it is refused with 429 (polls and uploads still work), until the limit is switched off
    assert (caught.value.code, caught.value.http_status) == (429, 429)
    assert len(httpx.get(f"{kie.url}/_sandbox/kie/tasks").json()["tasks"]) == 20
    assert client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    configure(kie, rate_limit=False)
    assert client.create_task(model=VEO, prompt=PROMPT, image_url=image_url)


# -- faults: task outcomes ------------------------------------------------------------


@pytest.mark.parametrize("flag", [2, 3])
def test_success_flag_2_and_3_are_failures_with_code_and_message(kie, client, flag):
    # Given the next Veo task fails with this successFlag
    fault(kie, "success_flag", count=1, params={"flag": flag, "errorCode": 500, "errorMessage": "Timeout"})
    # When it is polled until it settles
    status = settle(client, new_task(client), VEO)[-1]
    # Then it is failed with errorCode and errorMessage
    assert (status.state, status.fail_code, status.fail_message, status.result_url) == ("failed", 500, "Timeout", None)


def test_content_policy_at_create_is_a_400(kie, client):
    # Given the prompt will be flagged at create
    image_url = client.upload_image(PHOTO, "mug.jpg", "image/jpeg")
    fault(kie, "content_policy", count=1)
    # When a task is created
    with pytest.raises(KieApiError) as caught:
        client.create_task(model=VEO, prompt=PROMPT, image_url=image_url)
    # Then the documented 400 and message come back
    assert caught.value.code == 400 and "violating content policies" in caught.value.message


def test_content_policy_during_generation_fails_the_task(kie, client):
    # Given the prompt will be flagged during generation
    fault(kie, "content_policy", count=1, params={"stage": "task"})
    # When the task is polled until it settles
    status = settle(client, new_task(client), VEO)[-1]
    # Then it failed with 400 and the policy message
    assert (status.state, status.fail_code) == ("failed", 400)
    assert "violating content policies" in status.fail_message


def test_record_null_right_after_create_reads_as_pending(kie, client):
    # Given record-info answers "record is null" for the first 3 polls
    fault(kie, "record_null", count=1, params={"polls": 3})
    task_id = new_task(client)
    # When the task is polled until it settles
    seen = settle(client, task_id, VEO)
    # Then the first 3 polls were pending, then success
    assert [status.state for status in seen[:3]] == ["pending"] * 3
    assert seen[-1].state == "success" and sandbox_task(kie, task_id)["polls"] == len(seen)


def test_a_task_that_never_finishes_can_be_failed_by_hand(kie, client):
    # Given a task that never finishes on its own
    fault(kie, "never_finishes", count=1)
    task_id = new_task(client)
    assert client.get_task(task_id, VEO).state == "pending"
    # When the control API fails it
    failure = {"fail": True, "code": 501, "msg": "boom"}
    answer = httpx.post(f"{kie.url}/_sandbox/kie/tasks/{task_id}/complete", json=failure)
    # Then the next poll reads the failure
    assert answer.json()["state"] == "failed"
    assert client.get_task(task_id, VEO) == TaskStatus(task_id, "failed", None, 501, "boom")


def test_an_image_that_was_never_uploaded_fails_the_task(kie, client):
    # Given an image URL into the stand-in's store that holds no file
    image_url = f"{kie.url}/files/uploads/images/neurocards/missing.jpg"
    # When a task is made from it and polled until it settles
    task_id = client.create_task(model=VEO, prompt=PROMPT, image_url=image_url)
    status = settle(client, task_id, VEO)[-1]
    # Then KIE could not fetch the image
    assert (status.state, status.fail_code, status.fail_message) == ("failed", 400, "Failed to fetch the image")


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
    # Then it came in several pieces that add up to the sample
    assert len(chunks) > 1 and b"".join(chunks) == SAMPLE_MP4.read_bytes()
