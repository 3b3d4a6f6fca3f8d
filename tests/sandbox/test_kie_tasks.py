"""KIE contract: Veo and market tasks are created with the documented fields and polled to a result."""

from __future__ import annotations

import json

import httpx
import pytest

from neurocards.clients.kie import KieApiError, TaskStatus
from neurocards.sandbox.kie_clips import clip
from neurocards.settings import SANDBOX_API_KEY
from tests.sandbox.kie_support import (  # noqa: F401  (fixtures)
    KLING,
    PHOTO,
    PROMPT,
    SORA,
    VEO,
    bearer,
    calls,
    clean_kie,
    client,
    configure,
    fault,
    kie,
    new_task,
    sandbox_task,
    settle,
)

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
    assert video.content == clip("9:16") and video.content[4:8] == b"ftyp"


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


# -- several photos (issue 21) ---------------------------------------------------------------


def three_photos(client) -> list[str]:
    return [client.upload_image(PHOTO + bytes([n]), f"side-{n}.jpg", "image/jpeg") for n in range(3)]


@pytest.mark.parametrize("model, sent, kind", [
    ("veo3_fast", 3, "REFERENCE_2_VIDEO"),  # the one model that takes reference images
    ("veo3", 1, None),  # the first photo alone: the video unfolds around it
    (KLING, 1, None),
    (SORA, 1, None),
])
def test_reference_photos_go_where_the_model_takes_them(kie, client, model, sent, kind):
    # Given three photos of one product in KIE's file store
    first, *more = three_photos(client)
    # When a task is made from them
    task_id = client.create_task(model=model, prompt=PROMPT, image_url=first, references=more)
    # Then the model got what it takes, the first photo first, and the stand-in accepted it
    request = sandbox_task(kie, task_id)["request"]
    urls = request.get("imageUrls") or request["input"]["image_urls"]
    assert urls == [first, *more][:sent]
    assert request.get("generationType") == kind
    assert settle(client, task_id, model)[-1].state == "success"


@pytest.mark.parametrize("path, body, refusal", [
    ("/api/v1/veo/generate", {"model": "veo3", "generationType": "REFERENCE_2_VIDEO"}, "veo3_fast only"),
    ("/api/v1/veo/generate", {"model": "veo3_fast", "generationType": "REFERENCE_2_VIDEO", "extra": 1}, "too many"),
    ("/api/v1/jobs/createTask", {"model": KLING}, "image_urls"),
])
def test_the_stand_in_refuses_reference_photos_a_model_does_not_take(kie, client, path, body, refusal):
    # Given four photo URLs (or three to a model that takes one)
    urls = three_photos(client)
    if body.pop("extra", None):
        urls.append(urls[0])
    if path.endswith("createTask"):
        body["input"] = {"prompt": PROMPT, "image_urls": urls, "sound": False, "duration": "5"}
    else:
        body |= {"prompt": PROMPT, "imageUrls": urls}
    # When they are posted raw
    answer = httpx.post(f"{kie.url}{path}", json=body, headers=bearer(SANDBOX_API_KEY)).json()
    # Then the request is refused as the real API refuses it, and nothing is charged
    assert answer["code"] == 422 and refusal in answer["msg"]


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
