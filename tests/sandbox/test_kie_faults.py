"""KIE contract: every fault (business code, HTTP status, rate limit, failed task) reaches us as documented."""

from __future__ import annotations

import pickle

import httpx
import pytest

from neurocards.clients.kie import KieApiError, TaskStatus
from tests.sandbox.kie_support import (
    KLING,
    PHOTO,
    PROMPT,
    VEO,
    configure,
    fault,
    new_task,
    sandbox_task,
    settle,
)
from tests.sandbox.kie_support import clean_kie, client, kie  # noqa: F401  (fixtures)


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
