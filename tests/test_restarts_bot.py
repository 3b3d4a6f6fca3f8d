"""The bot keeps answering through Redis and PostgreSQL restarts, without a restart
of its own; what it kept in Redis (its polling lease, a seller's half-finished
request) recovers sensibly when Redis comes back empty."""

from __future__ import annotations

import pytest
import redis

from neurocards.db import close_database
from neurocards.models import Job
from neurocards.settings import SANDBOX_BOT_TOKEN
from tests.bot_fixtures import Chat, bot  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh  # noqa: F401  (fixtures)
from tests.services import RedisServer, wait_until
from tests.test_restarts import OUTAGE_TOLERANT
from tests.watchdog_fixtures import own_postgres, own_redis, running_stack  # noqa: F401

#: The bot's id in the sandbox (the number before the colon of its token).
BOT_ID = SANDBOX_BOT_TOKEN.split(":", 1)[0]


@pytest.fixture(scope="module")
def stack(own_redis, own_postgres):
    with running_stack(own_redis, own_postgres.create_database(), **OUTAGE_TOLERANT) as stack:
        yield stack


def polling_lease_holder(own_redis: RedisServer) -> bytes | None:
    client = own_redis.client()
    try:
        return client.get(f"neurocards:polling:{BOT_ID}")
    except redis.ConnectionError:
        return None
    finally:
        client.close()


def a_video_for(chat: Chat) -> None:
    """The seller sends a photo with a caption and gets the video."""
    chat.photo(caption="Ceramic mug, 350 ml")
    chat.wait_video(timeout=90)
    [job] = chat.ended_jobs()
    assert job.status == "done", (job.error_class, job.error_detail)


def test_the_bot_answers_through_a_redis_restart_that_lost_everything(bot, own_redis):
    # Given the bot polling, its lease in Redis
    holder = wait_until(lambda: polling_lease_holder(own_redis), timeout=30, what="the polling lease")
    process = bot.processes["bot"]

    # When Redis restarts empty
    own_redis.restart(keep_data=False)

    # Then the same bot answers a new seller and takes their job to the video
    chat = Chat(bot)
    chat.start()
    a_video_for(chat)
    assert process.poll() is None
    # and it takes its polling lease again (no other instance could have it)
    assert wait_until(lambda: polling_lease_holder(own_redis), timeout=30, what="the lease again") == holder


def test_a_half_finished_request_lost_with_redis_is_asked_for_again(bot, own_redis):
    # Given a seller who sent a photo without a caption and was asked for one
    chat = Chat(bot)
    chat.start()
    chat.photo()
    chat.wait_text(chat.t("ask_info"))

    # When Redis restarts empty (the request was kept there) and the seller sends the caption
    own_redis.restart(keep_data=False)
    chat.say("Ceramic mug, 350 ml")

    # Then the bot asks for the photo again, and nothing was charged
    chat.wait_text(chat.t("send_photo"))
    assert chat.jobs() == [] and chat.balance() == 1


def test_the_bot_answers_through_a_postgres_fast_restart(bot, own_postgres):
    # Given the bot's threads holding database connections (a seller served)
    Chat(bot).start()
    process = bot.processes["bot"]

    # When PostgreSQL restarts as a service manager does it
    close_database()  # (this test process's own connection)
    own_postgres.halt()
    own_postgres.start()

    # Then the same bot answers, and a job it starts reaches the video
    chat = Chat(bot)
    chat.start()
    a_video_for(chat)
    assert process.poll() is None
    assert Job.select().where(Job.user == chat.id).count() == 1
