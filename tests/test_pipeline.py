"""End to end: real Redis, a real Dramatiq worker process, the sandbox, both databases.

Each test plays the bot's part (photo stored, status message sent, job started
with its debit) and then watches the worker take the job to the end.
"""

import hashlib
import html
from pathlib import Path

import httpx
import pytest

from neurocards.clients.prompt_writer import fallback_prompt
from neurocards.models import Job, LedgerEntry, User
from neurocards.sandbox.kie_clips import clip
from neurocards.texts import text
from tests.pipeline_fixtures import Seller, fresh, probe_delivered, stack  # noqa: F401  (fixtures)
from tests.stack import wait_for_final

pytestmark = pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True, scope="module")


def ledger(job, kind):
    return LedgerEntry.select().where((LedgerEntry.job == job.id) & (LedgerEntry.kind == kind)).count()


def videos(seller):
    return [e for e in seller.transcript()["events"] if e["type"] == "bot_message" and e.get("video")]


def buttons(event):
    markup = event.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def test_happy_path_delivers_the_video_with_its_button(stack, tmp_path):
    # Given a seller with one credit
    seller = Seller(stack)

    # When they start a job
    job = wait_for_final(seller.start_job("Ceramic mug <350 ml> & saucer").id)

    # Then the finished video arrives in the chat, byte for byte, with "Generate again"
    assert job.status == "done", (job.error_class, job.error_detail)
    [video] = videos(seller)
    assert video["video"]["sha256"] == hashlib.sha256(Path(job.finished_path).read_bytes()).hexdigest()
    assert video["video"]["supports_streaming"] in (True, "true")
    delivered = probe_delivered(stack, video, tmp_path)  # 9:16 as filmed, H.264 + AAC, moov first
    assert (delivered.width, delivered.height, delivered.video_codec, delivered.audio_codec) == (360, 640, "h264", "aac")
    assert delivered.faststart and (job.preset, job.finish_fallback) == ("reels", "")
    assert "Ceramic mug <350 ml> & saucer" in video["caption"]
    assert "0 cr. left" in video["caption"]
    assert [b["text"] for b in buttons(video)] == [text("en", key) for key in
                                                   ("button.again", "button.edit", "button.format", "button.report")]
    assert buttons(video)[0]["callback_data"] == f"job:again:{job.id}"

    # and one debit, no refund, every stage timestamped, one KIE task
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert all([job.enhancing_at, job.generating_at, job.downloading_at, job.delivering_at, job.done_at])
    assert job.prompt.startswith("Slow dolly-in on")
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 1
    assert User.get_by_id(seller.id).balance == 0
    # and the status message, edited in place (at most one edit a second), ends on "done"
    done = html.unescape(text("en", "status.done", info="Ceramic mug <350 ml> & saucer"))
    stack.tg.wait_for(lambda t: t["messages"][str(job.status_message_id)]["text"] == done, chat_id=seller.id)
    edits = [e for e in seller.transcript()["events"] if e["type"] == "edit"]
    assert 1 <= len(edits) <= 5


def test_content_policy_refunds_and_says_what_to_change(stack):
    seller = Seller(stack)
    stack.fault("kie", "content_policy", params={"stage": "task"})

    job = wait_for_final(seller.start_job().id)

    assert job.status == "failed" and job.error_class == "content_policy"
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 1)
    assert User.get_by_id(seller.id).balance == 1
    message = seller.wait_for_text(text("en", "failure.content_policy"))
    assert buttons(message) == []  # the same photo would be refused again
    assert videos(seller) == []


def test_a_content_policy_refusal_is_retried_once_free_with_a_safer_prompt(stack):
    # Given KIE refusing the first task on its content policy (successFlag 2 and its message)
    seller = Seller(stack)
    stack.fault("kie", "content_policy", count=1, params={"stage": "task"})
    # (filming takes 3 s, so the status line is edited while the retry films; the next test's reset restores it)
    httpx.post(f"{stack.kie.url}/_sandbox/kie/config", json={"generation_s": 3}).raise_for_status()

    # When the job runs
    job = wait_for_final(seller.start_job().id)

    # Then a second task, from a prompt rewritten to avoid what was flagged, made the video, free
    assert (job.status, job.safety_retries, job.kie_attempts) == ("done", 1, 2)
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert User.get_by_id(seller.id).balance == 0
    prompts = [request for request in httpx.get(f"{stack.openai.url}/_sandbox/openai/requests").json()["requests"]
               if request["body"]["messages"][0]["content"].find("refused the previous prompt") >= 0]
    [retry] = prompts
    assert "The refused prompt:" in retry["body"]["messages"][1]["content"][0]["text"]
    assert len(videos(seller)) == 1
    # and the seller saw why it took longer on the status line
    edits = [e.get("text", "") for e in seller.transcript()["events"] if e["type"] == "edit"]
    assert any(text("en", "status.safety_retry") in edit for edit in edits)


def test_a_second_content_policy_refusal_fails_with_one_refund(stack):
    seller = Seller(stack)
    stack.fault("kie", "content_policy", count=2, params={"stage": "task"})

    job = wait_for_final(seller.start_job().id)

    assert (job.status, job.error_class, job.safety_retries) == ("failed", "content_policy", 1)
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 1)
    assert [fault["fired"] for fault in stack.faults("kie")] == [2]
    seller.wait_for_text(text("en", "failure.content_policy"))


def test_content_policy_at_create_gets_one_free_retry_then_the_refund(stack):
    seller = Seller(stack)
    stack.fault("kie", "content_policy", params={"stage": "create"})

    job = wait_for_final(seller.start_job().id)

    assert (job.error_class, job.safety_retries) == ("content_policy", 1)
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 2  # the first prompt, then the rewritten one
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 1)


def test_content_policy_at_create_then_a_rewritten_prompt_makes_the_video(stack):
    seller = Seller(stack)
    stack.fault("kie", "content_policy", count=1, params={"stage": "create"})

    job = wait_for_final(seller.start_job().id)

    assert (job.status, job.safety_retries, job.kie_attempts) == ("done", 1, 1)
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)


def test_kie_500_is_retried_without_a_refund(stack):
    seller = Seller(stack)
    stack.fault("kie", "code", count=1, match={"endpoint": "generate"}, params={"code": 500})

    job = wait_for_final(seller.start_job().id)

    assert job.status == "done"
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 2
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)
    assert len(videos(seller)) == 1


def test_a_generation_past_its_deadline_gets_a_new_task(stack):
    seller = Seller(stack)
    stack.fault("kie", "never_finishes", count=1)

    job = wait_for_final(seller.start_job().id)

    assert job.status == "done"
    assert job.kie_attempts == 2
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 2
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 0)


def test_every_attempt_failing_refunds_with_a_try_again_button(stack):
    seller = Seller(stack)
    stack.fault("kie", "success_flag", params={"flag": 3, "errorCode": 501, "errorMessage": "Generation Failed"})

    job = wait_for_final(seller.start_job().id)

    assert job.status == "failed" and job.error_class == "generation_failed"
    assert job.kie_attempts == 2
    assert (ledger(job, "debit"), ledger(job, "refund")) == (1, 1)
    message = seller.wait_for_text(text("en", "failure.generation_failed"))
    assert [b["callback_data"] for b in buttons(message)] == [f"job:again:{job.id}"]


def test_delivery_failing_three_times_refunds_and_never_regenerates(stack):
    seller = Seller(stack)
    stack.fault("telegram", "server_error", match={"method": "sendVideo", "chat_id": seller.id})

    job = wait_for_final(seller.start_job().id)

    assert job.status == "failed" and job.error_class == "upstream_unavailable"
    assert job.delivery_attempts == 3
    assert [fault["fired"] for fault in stack.faults("telegram")] == [3]
    assert stack.calls("kie").get("POST /api/v1/veo/generate") == 1
    assert ledger(job, "refund") == 1
    assert seller.wait_for_text(text("en", "failure.busy"))


def test_a_seller_who_blocked_the_bot_is_refunded_and_sent_nothing(stack):
    seller = Seller(stack)
    job = seller.start_job()
    stack.tg.block(seller.id)  # before the video is ready

    job = wait_for_final(job.id)

    assert job.status == "failed" and job.error_class == "telegram_blocked"
    assert ledger(job, "refund") == 1
    assert User.get_by_id(seller.id).blocked
    assert videos(seller) == []
    assert len(seller.bot_events("bot_message")) == 1  # only the status message, sent before the block


def test_openai_down_falls_back_to_the_template_prompt(stack):
    seller = Seller(stack)
    stack.fault("openai", "server_error")

    job = wait_for_final(seller.start_job("Linen apron").id)

    assert job.status == "done"
    assert job.prompt == fallback_prompt("Linen apron")
    assert stack.calls("openai").get("POST /v1/chat/completions") == 4  # the first try and 3 retries
    assert ledger(job, "refund") == 0


def test_openai_out_of_quota_falls_back_at_once(stack):
    seller = Seller(stack)
    stack.fault("openai", "insufficient_quota")

    job = wait_for_final(seller.start_job("Linen apron").id)

    assert job.status == "done"
    assert job.prompt == fallback_prompt("Linen apron")
    assert stack.calls("openai").get("POST /v1/chat/completions") == 1


def test_a_photo_refused_by_openai_refunds(stack):
    seller = Seller(stack)
    stack.fault("openai", "content_policy")

    job = wait_for_final(seller.start_job().id)

    assert job.status == "failed" and job.error_class == "content_policy"
    assert ledger(job, "refund") == 1
    assert stack.calls("kie").get("POST /api/v1/veo/generate") is None


def test_a_result_over_the_size_cap_refunds(stack):
    seller = Seller(stack)
    stack.fault("kie", "download_huge", params={"mb": 51})

    job = wait_for_final(seller.start_job().id)

    assert job.status == "failed" and job.error_class == "video_too_large"
    assert ledger(job, "refund") == 1
    assert not list((stack.dir / "storage" / "videos").glob(f"{job.id}*"))


def test_a_result_that_is_not_a_video_refunds(stack):
    seller = Seller(stack)
    stack.fault("kie", "download_wrong_type")

    job = wait_for_final(seller.start_job().id)

    assert job.error_class == "video_invalid"
    assert ledger(job, "refund") == 1


def test_a_download_cut_short_is_retried(stack):
    seller = Seller(stack)
    stack.fault("kie", "download_cut", count=1)

    job = wait_for_final(seller.start_job().id)

    assert job.status == "done"
    assert Job.get_by_id(job.id).video_bytes == len(clip("9:16"))
