"""KIE's key pool, upload-once and stretched polls, end to end: a real worker
against a KIE stand-in that knows three keys (and records which key made each
call), while the pool also holds a fourth key KIE refuses (401)."""

from __future__ import annotations

import json
from collections import defaultdict

import httpx
import pytest
from aiohttp import web

from neurocards.context import Context
from neurocards.limits.budgets import try_acquire
from neurocards.limits.kie_keys import fingerprint
from neurocards.limits.limiter import PREFIX
from neurocards.models import ACTIVE_STATUSES, Job
from neurocards.sandbox import kie
from neurocards.sandbox.kie_api import bearer
from neurocards.sandbox.server import ThreadedApp
from neurocards.schema import migrate
from neurocards.settings import load_settings
from tests.pipeline_fixtures import Seller
from tests.services import RedisServer, wait_until
from tests.stack import Stack, wait_for_final

GOOD_KEYS = ("kie-key-one", "kie-key-two", "kie-key-three")
REVOKED_KEY = "kie-key-revoked"
UPLOAD = "POST /api/file-base64-upload"


class KeyLog:
    """Which key made each create and each poll, by task id; uploads by key."""

    def __init__(self) -> None:
        self.created_by: dict[str, str] = {}
        self.polled_by: dict[str, set[str]] = defaultdict(set)
        self.uploads: list[str] = []

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        response = await handler(request)
        key = bearer(request)
        if request.path in ("/api/v1/veo/generate", "/api/v1/jobs/createTask") and response.status == 200:
            task_id = (json.loads(response.text).get("data") or {}).get("taskId")
            if task_id:
                self.created_by[task_id] = key
        elif request.path in ("/api/v1/veo/record-info", "/api/v1/jobs/recordInfo"):
            self.polled_by[request.query.get("taskId", "")].add(key)
        elif "upload" in request.path:
            self.uploads.append(key)
        return response


def kie_with_keys(log: KeyLog):
    def factory() -> web.Application:
        app = kie.create_app(api_keys=GOOD_KEYS, generation_s=0.3)
        app.middlewares.append(log.middleware)  # inside the gatekeeper: sees calls it let through
        return app

    return factory


@pytest.fixture(scope="module")
def pool_stack(redis_server, tmp_path_factory):
    """A stack whose worker holds four KIE keys, one of them revoked."""
    keys = json.dumps([*GOOD_KEYS, REVOKED_KEY])
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'k.db'}",
                  KIE__API_KEYS=keys)
    stack.kie.stop()
    stack.keys = KeyLog()
    stack.kie = ThreadedApp(kie_with_keys(stack.keys))
    stack.env["NEUROCARDS_SANDBOX__KIE_PORT"] = str(stack.kie.port)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.env.items():
            patch.setenv(key, value)
        stack.context = Context(load_settings())
        migrate()
        redis_server.client().flushall()
        stack.start_worker()
        yield stack
        stack.close()
        stack.context.close()
    redis_server.client().flushall()


@pytest.fixture
def pool(pool_stack):
    """The pool's stack for one test: fresh stand-ins, key log and budgets (a key a
    previous test's 429 paused is not paused here); every job ended after it."""
    pool_stack.reset_sandbox()
    pool_stack.keys.__init__()
    redis = pool_stack.context.redis
    for key in redis.scan_iter(f"{PREFIX}kie-*"):
        redis.delete(key)
    yield pool_stack
    wait_until(lambda: not Job.select().where(Job.status.in_(ACTIVE_STATUSES)).exists(), timeout=60,
               what="every job to end")


def test_creates_spread_over_the_keys_and_a_job_polls_with_the_key_that_created_its_task(pool):
    # Given nine sellers starting a job each, with a revoked key in the pool
    jobs = [Seller(pool).start_job() for _ in range(9)]

    # Then every job is delivered...
    assert [wait_for_final(job.id).status for job in jobs] == ["done"] * 9
    # ... its task created with one of the good keys, spread over all three
    created_by = pool.keys.created_by
    tasks = {job.id: Job.get_by_id(job.id).kie_task_id for job in jobs}
    used = [created_by[task] for task in tasks.values()]
    assert set(used) == set(GOOD_KEYS), used
    # ... each task polled only with the key that created it, which the job names by fingerprint
    for job_id, task in tasks.items():
        assert pool.keys.polled_by[task] == {created_by[task]}
        assert Job.get_by_id(job_id).kie_key == fingerprint(created_by[task])
    # ... and the revoked key was parked for every process, with a log line (never the key itself)
    assert pool.context.redis.get(f"neurocards:kie-key-parked:{fingerprint(REVOKED_KEY)}") == b"401"
    log = pool.log()
    assert f"KIE key {fingerprint(REVOKED_KEY)} answered 401: parked" in log
    assert REVOKED_KEY not in log and GOOD_KEYS[0] not in log


def test_the_photo_is_uploaded_once_per_job_across_a_429_and_a_resubmit(pool):
    # Given KIE answering the first create with 429 and failing the first task it makes
    pool.fault("kie", "http_status", count=1, match={"endpoint": "generate"}, params={"status": 429})
    pool.fault("kie", "success_flag", count=1, params={"flag": 3, "errorCode": 501})

    # When a seller starts a job
    job = Seller(pool).start_job()

    # Then it is delivered from a second task, and the photo went to KIE's file API once
    done = wait_for_final(job.id)
    assert done.status == "done" and done.kie_attempts == 2
    assert pool.calls("kie")[UPLOAD] == 1 and len(pool.keys.uploads) == 1
    assert done.kie_image_url and done.kie_image_expires_at is not None


def test_a_429_pauses_that_key_for_every_process_and_the_job_goes_on_with_another(pool):
    # Given KIE answering a create with 429 and Retry-After: 60
    pool.fault("kie", "http_status", count=1, match={"endpoint": "generate"}, params={"status": 429,
                                                                                  "retry_after": 60})
    # When a seller starts a job
    job = Seller(pool).start_job()
    assert wait_for_final(job.id).status == "done"

    # Then the key that met the 429 is paused for this process too, and the others are not
    budgets = pool.context.budgets
    paused = [key for key in GOOD_KEYS if not try_acquire(budgets.kie_create(fingerprint(key)))]
    assert len(paused) == 1
    slot = try_acquire(budgets.kie_create(fingerprint(paused[0])))
    assert slot.refused_by.startswith("kie-create:") and 30 < slot.wait_s <= 60
    created = pool.keys.created_by[Job.get_by_id(job.id).kie_task_id]
    assert created != paused[0]
    pool.context.redis.delete(budgets.kie_create(fingerprint(paused[0])).pause_key)


@pytest.fixture
def callbacks_stack(tmp_path):
    """A worker and the bot, KIE calling back to the bot's web app; safety-net polls an hour
    apart.  A Redis of its own: the pool's worker is still running on the shared one."""
    redis_server = RedisServer()
    stack = Stack(redis_url=redis_server.url, database_url=f"sqlite:///{tmp_path / 'cb.db'}",
                  KIE__POLL_WITH_CALLBACKS_S="3600", KIE__API_KEYS="[]")  # not the pool's keys
    stack.env["NEUROCARDS_KIE__CALLBACK_BASE_URL"] = f"http://127.0.0.1:{stack.env['NEUROCARDS_TELEGRAM__WEB_PORT']}"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.env.items():
            patch.setenv(key, value)
        stack.context = Context(load_settings())
        migrate()
        stack.start_worker()
        stack.start_bot()
        yield stack
        stack.close()
        stack.context.close()
    redis_server.stop()


def test_with_callbacks_the_callback_makes_the_one_poll_of_each_task(callbacks_stack):
    # Given three sellers' jobs, with KIE calling back when each task is done
    stack = callbacks_stack
    stack.reset_sandbox()
    jobs = [Seller(stack).start_job() for _ in range(3)]

    # Then each is delivered after one poll of its task: the one the callback rang for
    assert [wait_for_final(job.id).status for job in jobs] == ["done"] * 3
    tasks = {t["task_id"]: t for t in httpx.get(f"{stack.kie.url}/_sandbox/kie/tasks").json()["tasks"]}
    polls = [tasks[Job.get_by_id(job.id).kie_task_id]["polls"] for job in jobs]
    assert polls == [1, 1, 1], polls
