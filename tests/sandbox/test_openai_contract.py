"""Contract tests: the real ``openai`` SDK and our PromptWriter against the OpenAI stand-in.

Each fault must reach our code as the exception the real SDK raises for the
real service, and a good answer must come back as the stand-in's deterministic
prompt, so the pipeline tests built on the stand-in mean something.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from PIL import Image

from neurocards.clients.prompt_writer import (
    ContentFiltered,
    EmptyPrompt,
    PromptWriter,
    fallback_prompt,
    instructions,
    prompt_of,
)
from neurocards.sandbox.openai import create_app
from neurocards.sandbox.server import ThreadedApp
from neurocards.settings import SANDBOX_API_KEY

MODEL = "gpt-4o-mini"
PRODUCT = "Red ceramic mug, 350 ml, matte glaze"
WRONG_KEY = "sk-neurocards-wrong-key-0123456789abcdef"


@pytest.fixture(scope="module")
def sandbox():
    with ThreadedApp(create_app) as app:
        yield app


@pytest.fixture(autouse=True)
def clean_sandbox(sandbox):
    httpx.post(f"{sandbox.url}/_sandbox/reset").raise_for_status()


@pytest.fixture
def writer(sandbox):
    with PromptWriter(f"{sandbox.url}/v1", SANDBOX_API_KEY, MODEL, timeout_s=10) as writer:
        yield writer


@pytest.fixture
def client(sandbox):
    with openai.OpenAI(base_url=f"{sandbox.url}/v1", api_key=SANDBOX_API_KEY, max_retries=0, timeout=10) as client:
        yield client


def photo(image_format: str = "JPEG") -> bytes:
    """A small real photo-like image (a colour gradient) in ``image_format``."""
    image = Image.new("RGB", (64, 48))
    image.putdata([(x * 4, y * 5, 128) for y in range(48) for x in range(64)])
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


def inject(sandbox: ThreadedApp, fault: str, **fields) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/scenario", json={"fault": fault, **fields}).raise_for_status()


def received(sandbox: ThreadedApp) -> list[dict]:
    return httpx.get(f"{sandbox.url}/_sandbox/openai/requests").json()["requests"]


def calls(sandbox: ThreadedApp) -> dict[str, int]:
    return httpx.get(f"{sandbox.url}/_sandbox/calls").json()


# -- good answers ---------------------------------------------------------------


@pytest.mark.parametrize(("image_format", "mime_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_writer_sends_instructions_product_and_photo_and_returns_the_prompt(sandbox, writer, image_format, mime_type):
    # Given a product photo and the seller's line
    image = photo(image_format)

    # When the writer asks for a prompt
    prompt = writer.write_prompt(image, mime_type, f"  {PRODUCT}\n")

    # Then OpenAI received our instructions, the stripped line and the exact photo as a data URL
    [request] = received(sandbox)
    system, user = request["body"]["messages"]
    assert request["body"]["model"] == MODEL
    assert system == {"role": "system", "content": instructions()}
    text_part, image_part = user["content"]
    assert text_part["text"].splitlines()[0] == PRODUCT
    assert image_part["image_url"]["url"].startswith(f"data:{mime_type};base64,")
    assert image_part["image_url"]["detail"] == "auto"
    assert request["images"] == [
        {"source": "data", "mime_type": mime_type, "size_bytes": len(image), "digest": digest(image)}
    ]
    # And the answer is the stand-in's deterministic prompt, stripped
    assert prompt.startswith(f"Slow dolly-in on {PRODUCT},")
    assert prompt.endswith(f"[img:{digest(image)}]")
    assert calls(sandbox) == {"POST /v1/chat/completions": 1}


def test_long_product_info_is_capped_on_a_word_boundary(sandbox, writer):
    # Given a seller's line far over the 500-character cap
    long_info = " ".join(f"feature{number}" for number in range(200))

    # When the writer asks for a prompt
    writer.write_prompt(photo(), "image/jpeg", long_info)

    # Then the model saw at most 500 characters, cut between words, ending with an ellipsis
    [request] = received(sandbox)
    sent = request["body"]["messages"][1]["content"][0]["text"].splitlines()[0]
    assert len(sent) <= 500
    assert sent.endswith("…")
    assert long_info.startswith(sent[:-1])
    assert long_info[len(sent) - 1] == " "


def test_responses_api_gives_output_text(sandbox, client):
    # Given a Responses API request with text and an image as a plain-string data URL
    image = photo()
    data_url = f"data:image/jpeg;base64,{base64.b64encode(image).decode()}"

    # When the real SDK sends it
    response = client.responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": PRODUCT},
                    {"type": "input_image", "image_url": data_url, "detail": "auto"},
                ],
            }
        ],
    )

    # Then resp.output_text is the deterministic prompt
    assert response.output_text.startswith(f"Slow dolly-in on {PRODUCT},")
    assert response.output_text.endswith(f"[img:{digest(image)}]")
    assert calls(sandbox) == {"POST /v1/responses": 1}


def test_answers_match_the_sdk_models_strictly(client):
    # Given text-only requests to both APIs
    messages = [{"role": "user", "content": PRODUCT}]

    # When the real SDK sends them and we keep the raw HTTP answers
    chat = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)
    responses = client.responses.with_raw_response.create(model=MODEL, input=PRODUCT)

    # Then both bodies pass the SDK's own models in strict mode and carry a request id
    for raw, model in ((chat, ChatCompletion), (responses, Response)):
        model.model_validate(raw.http_response.json(), strict=True)
        assert raw.headers["x-request-id"].startswith("req_")


# -- faults ------------------------------------------------------------------------


def test_rate_limit_is_a_rate_limit_error_with_retry_after(sandbox, writer):
    # Given OpenAI rate-limits the next request
    inject(sandbox, "rate_limit", count=1, params={"retry_after_s": 7})

    # When the writer asks for a prompt
    with pytest.raises(openai.RateLimitError) as caught:
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)

    # Then the SDK's error carries the code and the retry-after header, and nothing was retried
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.request_id.startswith("req_")
    assert calls(sandbox) == {"POST /v1/chat/completions": 1}


def test_insufficient_quota_is_a_rate_limit_error_with_its_code(sandbox, writer):
    # Given the OpenAI account is out of money
    inject(sandbox, "insufficient_quota")

    # When the writer asks for a prompt
    with pytest.raises(openai.RateLimitError) as caught:
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)

    # Then the code tells it apart from a plain rate limit
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"


def test_server_error_is_an_internal_server_error(sandbox, writer):
    # Given OpenAI fails with a 500
    inject(sandbox, "server_error", count=1)

    # When the writer asks for a prompt, then the SDK raises InternalServerError
    with pytest.raises(openai.InternalServerError) as caught:
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)
    assert caught.value.status_code == 500


def test_content_policy_is_a_bad_request(sandbox, writer):
    # Given OpenAI's safety system rejects the request
    inject(sandbox, "content_policy")

    # When the writer asks for a prompt, then the SDK raises BadRequestError with the policy code
    with pytest.raises(openai.BadRequestError) as caught:
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)
    assert caught.value.code == "content_policy_violation"


@pytest.mark.parametrize("image", [b"definitely not an image", b""])
def test_unreadable_photo_is_a_bad_request(writer, image):
    # Given bytes that are no image, when the writer sends them as the photo
    with pytest.raises(openai.BadRequestError) as caught:
        writer.write_prompt(image, "image/jpeg", PRODUCT)

    # Then OpenAI answers as it does for an invalid image
    assert caught.value.code == "invalid_image_format"
    assert "unsupported image" in caught.value.message


def test_wrong_key_is_an_authentication_error_that_never_shows_the_key(sandbox, caplog):
    # Given a writer with a key OpenAI does not know, logging everything
    caplog.set_level(logging.DEBUG)
    writer = PromptWriter(f"{sandbox.url}/v1", WRONG_KEY, MODEL, timeout_s=10)

    # When it asks for a prompt
    with writer, pytest.raises(openai.AuthenticationError) as caught:
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)

    # Then it is the SDK's AuthenticationError, and the key is in no message, repr or log line
    assert caught.value.code == "invalid_api_key"
    for shown in (str(caught.value), repr(caught.value), repr(writer), caplog.text):
        assert WRONG_KEY not in shown


def test_slow_answer_times_out_as_api_timeout_error(sandbox):
    # Given OpenAI holds its answer far longer than our timeout
    inject(sandbox, "slow", count=1, params={"delay_s": 30})

    # When a writer with a short timeout asks for a prompt, then the SDK raises APITimeoutError
    with PromptWriter(f"{sandbox.url}/v1", SANDBOX_API_KEY, MODEL, timeout_s=0.2) as writer:
        with pytest.raises(openai.APITimeoutError):
            writer.write_prompt(photo(), "image/jpeg", PRODUCT)


def test_base_delay_applies_to_every_answer_until_reset(sandbox):
    # Given the stand-in is configured to answer slowly
    httpx.post(f"{sandbox.url}/_sandbox/openai/config", json={"delay_s": 30}).raise_for_status()

    # When a writer with a short timeout asks, then it times out
    with PromptWriter(f"{sandbox.url}/v1", SANDBOX_API_KEY, MODEL, timeout_s=0.2) as writer:
        with pytest.raises(openai.APITimeoutError):
            writer.write_prompt(photo(), "image/jpeg", PRODUCT)

        # And after a reset it answers again
        httpx.post(f"{sandbox.url}/_sandbox/reset").raise_for_status()
        assert writer.write_prompt(photo(), "image/jpeg", PRODUCT)


def test_content_filter_finish_is_content_filtered(sandbox, writer):
    # Given OpenAI's content filter stops the answer
    inject(sandbox, "content_filter")

    # When the writer asks for a prompt, then it raises ContentFiltered
    with pytest.raises(ContentFiltered):
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)


def test_empty_answer_is_empty_prompt(sandbox, writer):
    # Given OpenAI answers with no text
    inject(sandbox, "empty")

    # When the writer asks for a prompt, then it raises EmptyPrompt
    with pytest.raises(EmptyPrompt):
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)


@pytest.mark.parametrize(
    "message",
    [
        {"role": "assistant", "content": None, "refusal": "I can't help with that."},
        {"role": "assistant", "content": "  I'm sorry, but I can't assist with that request. "},
        {"role": "assistant", "content": " \n "},
    ],
)
def test_refusals_and_blank_answers_are_empty_prompts(message):
    # Given a completion holding a refusal or only whitespace
    completion = ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
    )

    # When we read the prompt out of it, then it is refused as empty
    with pytest.raises(EmptyPrompt):
        prompt_of(completion)


def test_faults_match_by_endpoint(sandbox, writer, client):
    # Given a server error only for the Responses API
    inject(sandbox, "server_error", match={"endpoint": "responses"})

    # When both APIs are called
    prompt = writer.write_prompt(photo(), "image/jpeg", PRODUCT)
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model=MODEL, input=PRODUCT)

    # Then only the Responses API failed
    assert prompt.startswith(f"Slow dolly-in on {PRODUCT},")


def test_requests_are_validated_like_openai(client):
    # Given requests missing a model or messages, when the real SDK sends them,
    # then OpenAI-style 400s come back as BadRequestError naming the problem
    with pytest.raises(openai.BadRequestError, match="must provide a model"):
        client.chat.completions.create(model="", messages=[{"role": "user", "content": PRODUCT}])
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[])
    assert (caught.value.param, caught.value.code) == ("messages", "empty_array")


# -- without the model ---------------------------------------------------------------


def test_fallback_prompt_is_deterministic_and_mentions_the_product():
    # Given the same seller's line twice, and an empty one
    first, second = fallback_prompt(PRODUCT), fallback_prompt(PRODUCT)

    # Then the prompts are equal, English, name the product, and the empty line still gives a prompt
    assert first == second
    assert PRODUCT in first
    assert "9:16" in first and len(first) <= 900
    assert fallback_prompt("   ").startswith("Slow")


# -- moderation (issue 21) -------------------------------------------------------------


def test_moderation_flags_a_description_and_passes_a_plain_one(sandbox):
    from neurocards.clients.moderation import Moderator, Verdict

    moderator = Moderator(f"{sandbox.url}/v1", SANDBOX_API_KEY, timeout_s=5)
    try:
        assert moderator.check("Hunting rifle, ready to kill") == Verdict(True, ("illicit/violent", "violence"))
        assert moderator.check(PRODUCT) == Verdict(False, ())
    finally:
        moderator.close()
    assert calls(sandbox)["POST /v1/moderations"] == 2


def test_moderation_answers_in_openai_shape_for_text_and_image_input(client):
    data_url = f"data:image/jpeg;base64,{base64.b64encode(photo()).decode()}"
    answer = client.moderations.create(model="omni-moderation-latest", input=[
        {"type": "text", "text": PRODUCT}, {"type": "image_url", "image_url": {"url": data_url}}])
    [result] = answer.results
    assert result.flagged is False and answer.model == "omni-moderation-latest"
    assert result.category_applied_input_types.violence == ["text", "image"]


def test_moderation_refuses_an_unknown_model_and_a_malformed_input(client):
    with pytest.raises(openai.NotFoundError):
        client.moderations.create(model="gpt-4o-moderator", input=PRODUCT)
    with pytest.raises(openai.BadRequestError):
        client.moderations.create(model="omni-moderation-latest", input=[{"type": "audio"}])


# -- "Suggest ideas" (issue 21) ---------------------------------------------------------


def test_the_idea_writer_gets_three_short_ideas_in_the_sellers_language(sandbox):
    from neurocards.clients.ideas import IdeaWriter
    from neurocards.clients.prompt_writer import Image as Photo

    writer = IdeaWriter(f"{sandbox.url}/v1", SANDBOX_API_KEY, MODEL, timeout_s=5)
    try:
        ideas = writer.suggest([Photo(photo(), "image/jpeg"), Photo(photo("PNG"), "image/png")], PRODUCT, "ru")
    finally:
        writer.close()
    assert len(ideas) == 3 and all(0 < len(idea) <= 70 for idea in ideas) and len(set(ideas)) == 3
    [request] = received(sandbox)
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert "Russian" in request["body"]["messages"][0]["content"] and len(request["images"]) == 2


@pytest.mark.parametrize("content", ['{"ideas": ["one", "two"]}', "not json", '{"ideas": "three"}', ""])
def test_an_answer_without_three_ideas_is_refused(content):
    from neurocards.clients.ideas import ideas_of
    from neurocards.clients.prompt_writer import EmptyPrompt

    with pytest.raises(EmptyPrompt):
        ideas_of(content)


def test_json_output_needs_the_word_json_in_the_messages(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PRODUCT}],
                                       response_format={"type": "json_object"})
    assert "json" in caught.value.message


def test_the_models_own_refusal_is_told_apart_from_an_empty_answer(sandbox, writer):
    from neurocards.clients.prompt_writer import ModelRefused

    inject(sandbox, "refusal", count=1)
    with pytest.raises(ModelRefused):
        writer.write_prompt(photo(), "image/jpeg", PRODUCT)
    assert writer.write_prompt(photo(), "image/jpeg", PRODUCT)  # the next answer is a prompt again
