"""An expected outcome is one WARNING line, not an ERROR with a traceback per try.

A photo refused under a content policy, or a seller who blocked the bot, is the
seller's to change: the worker logs it without a traceback and retries nothing
(Dramatiq's ``throws``), and says so once, at WARNING, with the job id and the
error class — the line of the refund.
"""

from __future__ import annotations

import contextlib

import pytest

from neurocards.models import User
from tests.pipeline_fixtures import Seller, fresh  # noqa: F401  (fixtures)
from tests.services import wait_until
from tests.stack import wait_for_final
from tests.watchdog_fixtures import ledger, log_lines, running_stack


@pytest.fixture(scope="module")
def stack(redis_server, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'neurocards.db'}"
    with running_stack(redis_server, url, watchdog=False) as stack:
        yield stack


def assert_one_warning(stack, job, error_class: str) -> None:
    """Of the worker's lines about ``job``: no ERROR or CRITICAL, no traceback, and
    one WARNING — with the error class."""
    # the refund's line is written after the job is marked failed: read once it is there (or not at all)
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: any("level=WARNING" in line for line in log_lines(stack, "worker", job.id)), timeout=10)
    lines = log_lines(stack, "worker", job.id)
    assert lines, "the worker said nothing about the job"
    loud = [line for line in lines if "level=ERROR" in line or "level=CRITICAL" in line or "Traceback" in line]
    assert not loud, loud
    warnings = [line for line in lines if "level=WARNING" in line]
    assert len(warnings) == 1 and error_class in warnings[0], warnings


def test_a_content_policy_refusal_is_one_warning(stack):
    # Given KIE refusing the photo under its content policy
    seller = Seller(stack)
    stack.fault("kie", "content_policy", params={"stage": "task"})

    # When the job fails for it (refunded)
    job = wait_for_final(seller.start_job().id)
    assert (job.status, job.error_class, ledger(job, "refund")) == ("failed", "content_policy", 1)

    # Then the worker logged it once, at WARNING, without a traceback
    assert_one_warning(stack, job, "content_policy")


def test_a_seller_who_blocked_the_bot_is_one_warning(stack):
    # Given a seller who blocks the bot before the video is ready (after the status message)
    seller = Seller(stack)
    job = seller.start_job()
    stack.tg.block(seller.id)

    # When the status edits and the delivery meet Telegram's 403 (refunded)
    job = wait_for_final(job.id)
    assert (job.status, job.error_class, ledger(job, "refund")) == ("failed", "telegram_blocked", 1)
    assert User.get_by_id(seller.id).blocked

    # Then the worker logged it once, at WARNING, without a traceback
    assert_one_warning(stack, job, "telegram_blocked")
