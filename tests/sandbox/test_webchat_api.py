"""The web chat's routes on the Telegram stand-in, over HTTP (the browser test is
``tests/test_webchat.py``): the page, the live stream of a chat, files in byte ranges, the fault
toggles across the stand-ins, and the job feed read from a real database."""

from __future__ import annotations

import json
import queue
import threading
import uuid

import httpx
import pytest

from neurocards.models import Job, LedgerEntry, User
from neurocards.sandbox import kie, telegram, webchat
from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.telegram_client import TelegramSandbox
from neurocards.sandbox.webchat_jobs import JobFeed
from neurocards.settings import SANDBOX_API_KEY, SANDBOX_BOT_TOKEN

SELLER = 4343
WEBCHAT = "/_sandbox/webchat"


@pytest.fixture(scope="module")
def sandbox():
    with ThreadedApp(telegram.create_app) as app:
        yield app


@pytest.fixture
def tg(sandbox):
    with TelegramSandbox(sandbox.url) as client:
        client.reset()
        yield client


class EventStream:
    """A chat's server-sent events, read on a thread into a queue."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue = queue.Queue()
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        name = None
        try:
            with self._client.stream("GET", url) as response:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        name = line[len("event: "):]
                    elif line.startswith("data: "):
                        self.events.put((name, json.loads(line[len("data: "):])))
        except httpx.HTTPError:
            pass  # closed by the test

    def next(self, name: str, timeout: float = 5.0) -> dict:
        """The next event called ``name`` (earlier ones of other names are skipped)."""
        while True:
            event, data = self.events.get(timeout=timeout)
            if event == name:
                return data

    def close(self) -> None:
        self._client.close()


def bot_call(sandbox: ThreadedApp, method: str, **params) -> dict:
    reply = httpx.post(f"{sandbox.url}/bot{SANDBOX_BOT_TOKEN}/{method}", json=params).json()
    assert reply["ok"], reply
    return reply["result"]


def test_the_page_and_its_files_are_served_fresh(sandbox):
    page = httpx.get(f"{sandbox.url}/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert page.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/webchat/main.js">' in page.text
    for name in ("main.js", "render.js", "panel.js", "seller.js", "api.js", "webchat.css"):
        assert httpx.get(f"{sandbox.url}/webchat/{name}").status_code == 200, name
    info = httpx.get(f"{sandbox.url}{WEBCHAT}/info").json()
    assert info["jobs"] is False and info["services"] == ["telegram"]
    for sample in info["samples"]:
        image = httpx.get(f"{sandbox.url}{sample['url']}")
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8", sample


def test_the_stream_shows_messages_as_they_are_now_and_the_moments_between(sandbox, tg):
    # Given a seller who wrote, and a browser watching the chat
    tg.send_text(SELLER, "hello", first_name="Ann", language_code="en")
    stream = EventStream(f"{sandbox.url}{WEBCHAT}/chats/{SELLER}/stream")
    try:
        assert stream.next("ready")["bot"]["is_bot"] is True
        first = stream.next("msg")
        assert first["message"]["text"] == "hello" and first["from_bot"] is False

        # When the bot answers with a button, then edits the answer
        sent = bot_call(sandbox, "sendMessage", chat_id=SELLER, text="Pick",
                        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})  # fmt: skip
        answer = stream.next("msg")
        bot_call(sandbox, "editMessageText", chat_id=SELLER, message_id=sent["message_id"], text="Picked")
        edited = stream.next("msg")

        # Then each arrives as the message is at that moment
        assert answer["from_bot"] and answer["message"]["text"] == "Pick"
        assert answer["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
        assert edited["message"]["message_id"] == sent["message_id"] and edited["message"]["text"] == "Picked"
        assert "reply_markup" not in edited["message"] and edited["message"]["edit_date"]

        # And a chat action and a callback answer come as moments
        query = tg.press(SELLER, callback_data="a", message_id=sent["message_id"])
        bot_call(sandbox, "sendChatAction", chat_id=SELLER, action="upload_video")
        bot_call(sandbox, "answerCallbackQuery", callback_query_id=query["callback_query_id"], text="Done")
        assert stream.next("action") == {"action": "upload_video"}
        assert stream.next("toast") == {"text": "Done", "show_alert": False}

        # And when the stand-in is reset, the page is told to forget the chat
        tg.reset()
        assert stream.next("reset") == {}
    finally:
        stream.close()


def test_files_are_served_in_the_ranges_a_video_element_asks_for(sandbox, tg):
    data = bytes(range(256)) * 4
    sent = tg.send_document(SELLER, data=data, file_name="clip.mp4")
    url = f"{sandbox.url}{WEBCHAT}/files/{sent['message']['document']['file_id']}"
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert httpx.get(url, headers={"Range": "bytes=1000-"}).content == data[1000:]
    assert httpx.get(url, headers={"Range": "bytes=-6"}).content == data[-6:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    assert httpx.get(f"{sandbox.url}{WEBCHAT}/files/nope").status_code == 404


def test_commands_follow_the_menu_telegram_would_show(sandbox, tg):
    bot_call(sandbox, "setMyCommands", commands=[{"command": "start", "description": "Начать"}])
    bot_call(sandbox, "setMyCommands", commands=[{"command": "start", "description": "Start"}], language_code="en")

    def menu(language: str) -> dict:
        return httpx.get(f"{sandbox.url}{WEBCHAT}/commands", params={"language": language}).json()

    assert menu("en")["commands"] == [{"command": "start", "description": "Start"}]
    assert menu("ru")["commands"] == [{"command": "start", "description": "Начать"}]
    tg.send_text(SELLER, "hi", first_name="Ann", language_code="en")
    sellers = httpx.get(f"{sandbox.url}{WEBCHAT}/sellers").json()["sellers"]
    assert sellers == [{"id": SELLER, "first_name": "Ann", "language_code": "en"}]


def test_fault_toggles_reach_each_stand_in_and_turn_off_alone(sandbox, tg):
    # Given the web chat told where a KIE stand-in is
    with ThreadedApp(lambda: kie.create_app(api_keys=(SANDBOX_API_KEY,), generation_s=2.0)) as kie_app:
        webchat.configure(sandbox.app, services={"kie": kie_app.url}, generation_s=2.0)
        faults = f"{sandbox.url}{WEBCHAT}/faults"
        try:
            view = httpx.get(faults).json()
            available = {p["key"]: p["available"] for p in view["presets"]}
            assert available["kie_content_policy"] and available["telegram_429"]
            assert not available["openai_down"]

            # When a Telegram fault set by a test is there, and two toggles go on
            tg.add_fault("slow", match={"method": "getMe"}, delay_s=0.01)
            httpx.post(faults, json={"preset": "telegram_429", "on": True}).raise_for_status()
            view = httpx.post(faults, json={"preset": "kie_content_policy", "on": True}).json()
            on = {p["key"] for p in view["presets"] if p["on"]}
            assert on == {"telegram_429", "kie_content_policy"}
            kie_faults = httpx.get(f"{kie_app.url}/_sandbox/scenario").json()["faults"]
            assert [fault["fault"] for fault in kie_faults] == ["content_policy"]

            # Then turning one off keeps the other faults of its stand-in
            view = httpx.post(faults, json={"preset": "telegram_429", "on": False}).json()
            assert [f["fault"] for f in view["faults"]["telegram"]] == ["slow"]

            # And slow generation changes KIE's generation time and puts it back
            httpx.post(faults, json={"preset": "kie_slow", "on": True}).raise_for_status()
            assert httpx.get(f"{kie_app.url}/_sandbox/kie/config").json()["generation_s"] == 90.0
            view = httpx.delete(faults).json()
            assert httpx.get(f"{kie_app.url}/_sandbox/kie/config").json()["generation_s"] == 2.0
            assert not any(p["on"] for p in view["presets"]) and view["faults"] == {"telegram": [], "kie": []}

            # And a preset that does not exist, or a stand-in not connected, is a 400
            assert httpx.post(faults, json={"preset": "nope", "on": True}).status_code == 400
            assert httpx.post(faults, json={"preset": "openai_down", "on": True}).status_code == 400
        finally:
            webchat.configure(sandbox.app, services={})


def test_the_job_feed_reads_jobs_and_refunds_from_the_database(sandbox, sqlite_url):
    # Given a seller with a failed, refunded job and a job being filmed
    User.create(id=SELLER, language="en", balance=1)
    failed = Job.create(user=SELLER, chat_id=SELLER, status="failed", product_info="Mug " * 30,
                        error_class="content_policy")  # fmt: skip
    LedgerEntry.create(user=SELLER, job=failed, kind="refund", amount=1, key=f"refund:{failed.id}")
    filming = Job.create(user=SELLER, chat_id=SELLER, status="generating", product_info="Candle")
    Job.create(user=User.create(id=SELLER + 1), chat_id=SELLER + 1, id=uuid.uuid4())
    assert httpx.get(f"{sandbox.url}{WEBCHAT}/jobs").json() == {"enabled": False, "jobs": [], "balance": None}

    # When the web chat reads them
    webchat.configure(sandbox.app, jobs=JobFeed(sqlite_url))
    feed = httpx.get(f"{sandbox.url}{WEBCHAT}/jobs", params={"user_id": SELLER}).json()

    # Then it sees both, the refund, and the seller's balance
    assert feed["enabled"] and feed["balance"] == 1
    by_id = {job["id"]: job for job in feed["jobs"]}
    assert set(by_id) == {str(failed.id), str(filming.id)}
    assert by_id[str(failed.id)]["refunded"] and by_id[str(failed.id)]["error_class"] == "content_policy"
    assert len(by_id[str(failed.id)]["product_info"]) == 60
    assert by_id[str(filming.id)]["status"] == "generating" and not by_id[str(filming.id)]["refunded"]
    assert len(httpx.get(f"{sandbox.url}{WEBCHAT}/jobs").json()["jobs"]) == 3
