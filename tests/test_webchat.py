"""The sandbox's web chat in a real browser: headless Debian Chromium, driven by Playwright
(pointed at ``/usr/bin/chromium``, no browser download), against the real bot and worker on the
sandbox (DESIGN §15).

A seller opens the page, sends a sample photo with a caption, watches the status message change
in place, gets a video that plays, presses "Generate again" and gets a second one; a fault
switched on in the operator panel makes the next job fail with the plain message and the credit
back.  A third test plays the bot itself against a bare Telegram stand-in to check what the real
bot does not send yet: callback answers, edits, documents, invoices paid with Stars, the menu.

Screenshots of the key moments go to ``var/test-artifacts/webchat/``.  Every wait is on a
condition in the page, never a fixed sleep.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from neurocards.sandbox import telegram, webchat
from neurocards.sandbox.server import ThreadedApp
from neurocards.sandbox.webchat_jobs import JobFeed
from neurocards.settings import ROOT, SANDBOX_BOT_TOKEN
from neurocards.texts import text
from tests.bot_fixtures import ADMIN_ID, bot, seller_ids  # noqa: F401  (fixtures)
from tests.pipeline_fixtures import fresh, stack  # noqa: F401  (fixtures)

ARTIFACTS = ROOT / "var" / "test-artifacts" / "webchat"
#: Long enough for a job on the test stack; a wait that runs out fails the test with what it waited for.
WAIT_MS = 30_000
#: How long the first KIE task takes, so that "filming" is seen in the chat and in the panel.
GENERATION_S = 3.0

expect.set_options(timeout=WAIT_MS)  # Playwright's assertions wait 5 s unless told


def t(key: str, **values) -> str:
    """A catalogue text as the seller reads it (English)."""
    return html.unescape(text("en", key, **values))


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Chromium is not installed: run scripts/system-packages.sh test (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        yield browser
        browser.close()


@pytest.fixture
def open_chat(browser, request):
    """Open the web chat at ``url`` as a seller; the page's last state is saved when the test ends."""
    contexts = []

    def open_(url: str, seller_id: int, *, name: str = "Anna", width: int = 1180, height: int = 820) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{url}/?seller={seller_id}&name={name}&lang=en")
        expect(page.locator("body")).to_have_attribute("data-connected", "true")
        return page

    yield open_
    for context in contexts:
        for page in context.pages:
            page.screenshot(path=ARTIFACTS / f"last-{request.node.name}.png")
        context.close()


@pytest.fixture
def wired(bot):
    """The stack's Telegram stand-in told where KIE, OpenAI and the database are, as
    ``neurocards sandbox`` tells it from the settings."""
    services = {"kie": bot.kie.url, "openai": bot.openai.url}
    webchat.configure(bot.telegram.app, services=services, jobs=JobFeed(bot.database_url), generation_s=0.3)
    return bot


def attach_sample(page: Page, sample: str) -> None:
    page.get_by_test_id("attach-button").click()
    page.locator(f"[data-sample='{sample}']").click()
    expect(page.get_by_test_id("staged")).to_be_visible()


def bot_row(page: Page, words: str):
    """The row of the bot's newest message whose text contains ``words``."""
    return page.locator(".row.from-bot", has=page.get_by_test_id("message-text").filter(has_text=words)).last


def shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def wait_until_playing(page: Page, video) -> None:
    """The video has a duration, enough data to play, and its clock moves once played."""
    handle = video.element_handle()
    page.wait_for_function("v => v.readyState >= 3 && v.duration > 0", arg=handle)
    page.evaluate("v => { v.muted = true; return v.play(); }", handle)
    page.wait_for_function("v => v.currentTime > 0.1", arg=handle)


def test_a_seller_sends_a_photo_and_gets_a_video_then_generates_again(wired, open_chat):
    # Given a seller on the web chat, welcomed through the command menu, with 3 credits
    seller = next(seller_ids)
    httpx.post(f"{wired.kie.url}/_sandbox/kie/config", json={"generation_s": GENERATION_S}).raise_for_status()
    page = open_chat(wired.telegram.url, seller)
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("command").filter(has_text="/start").click()
    expect(page.locator(".row.from-bot")).not_to_have_count(0)
    shot(page, "01-welcome")
    wired.tg.send_command(ADMIN_ID, "grant", f"{seller} 2")
    expect(page.get_by_test_id("balance")).to_have_text("Balance: 3 cr.")

    # When they send a sample photo with its caption
    caption = "Ceramic mug, 350 ml, matte white"
    attach_sample(page, "product-mug.jpg")
    expect(page.get_by_test_id("input")).to_have_value(caption)
    page.get_by_test_id("send").click()

    # Then the status message shows the filming, and changes in place to done
    filming = bot_row(page, t("status.generating", info=caption))
    expect(filming).to_be_visible()
    expect(page.get_by_test_id("job").first).to_have_attribute("data-status", "generating")
    shot(page, "02-filming")
    httpx.post(f"{wired.kie.url}/_sandbox/kie/config", json={"generation_s": 0.3}).raise_for_status()  # the rest fast
    status_id = filming.get_attribute("data-message-id")
    status = page.locator(f".row[data-message-id='{status_id}']")
    expect(status.get_by_test_id("message-text")).to_have_text(t("status.done", info=caption))
    assert int(status.get_by_test_id("message").get_attribute("data-edits")) >= 1

    # And the video comes, and plays
    video = page.locator("video[data-testid=video]")
    expect(video).to_have_count(1)
    wait_until_playing(page, video.first)
    expect(page.get_by_test_id("job").first).to_have_attribute("data-status", "done")
    shot(page, "03-video")

    # When they press "Generate again" under the video
    video_row = page.locator(".row.from-bot", has=video.first)
    video_row.get_by_role("button", name=t("button.again")).click()

    # Then a second video comes, and a second job is done
    expect(video).to_have_count(2)
    wait_until_playing(page, video.last)
    expect(page.locator("[data-testid=job][data-status=done]")).to_have_count(2)
    expect(page.get_by_test_id("balance")).to_have_text("Balance: 1 cr.")
    shot(page, "04-generated-again")


def test_a_fault_switched_on_in_the_panel_fails_the_next_job_with_a_plain_message(wired, open_chat):
    # Given a new seller, and KIE told (from the panel) to refuse the next video
    seller = next(seller_ids)
    page = open_chat(wired.telegram.url, seller, name="Boris")
    switch = page.locator("[data-preset=kie_content_policy]")
    switch.click()
    expect(switch).to_have_class("fault on")
    assert [f["fault"] for f in wired.faults("kie")] == ["content_policy"]

    # When they send a photo with a caption
    attach_sample(page, "product-candle.jpg")
    page.get_by_test_id("send").click()

    # Then the job fails with the plain message, the credit back, and the fault has fired
    expect(bot_row(page, t("failure.content_policy").splitlines()[0])).to_be_visible()
    job = page.get_by_test_id("job").first
    expect(job).to_have_attribute("data-status", "failed")
    expect(job.get_by_test_id("refunded")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("Balance: 1 cr.")
    expect(switch).to_have_class("fault")
    shot(page, "05-fault")


class BotPlayer:
    """The test as the bot: Bot API calls and the updates the page's actions make."""

    def __init__(self, url: str) -> None:
        self.api = f"{url}/bot{SANDBOX_BOT_TOKEN}"
        self.offset = 0

    def __call__(self, method: str, **params):
        reply = httpx.post(f"{self.api}/{method}", json=params, timeout=10).json()
        assert reply["ok"], reply
        return reply["result"]

    def next_update(self, kind: str) -> dict:
        while True:
            for update in self("getUpdates", offset=self.offset, timeout=5):
                self.offset = update["update_id"] + 1
                if kind in update:
                    return update[kind]


def test_the_page_shows_what_a_bot_can_send(open_chat, tmp_path):
    # Given a bare Telegram stand-in, with the test as its bot
    with ThreadedApp(telegram.create_app) as stand_in:
        tg = BotPlayer(stand_in.url)
        tg("setMyCommands", commands=[{"command": "start", "description": "Start"},
                                      {"command": "buy", "description": "Buy credits"}])  # fmt: skip
        seller = 700_900_001
        page = open_chat(stand_in.url, seller, name="Vera", width=390, height=844)  # a phone

        # When the seller sends a document with a caption
        price_list = tmp_path / "prices.csv"
        price_list.write_text("sku,price\nmug,10\n")
        page.set_input_files("#document-file", price_list)
        expect(page.get_by_test_id("staged")).to_be_visible()
        page.get_by_test_id("input").fill("My price list")
        page.get_by_test_id("send").click()
        expect(page.get_by_test_id("document")).to_contain_text("prices.csv")
        message = tg.next_update("message")
        assert message["document"]["file_name"] == "prices.csv" and message["caption"] == "My price list"

        # When the bot answers with a button, and the seller presses it
        sent = tg("sendMessage", chat_id=seller, text="Choose <b>one</b>:", parse_mode="HTML",
                  reply_markup={"inline_keyboard": [[{"text": "Pack of 5", "callback_data": "pack:5"}]]})  # fmt: skip
        expect(page.locator("strong", has_text="one")).to_be_visible()
        page.get_by_role("button", name="Pack of 5").click()
        query = tg.next_update("callback_query")
        assert query["data"] == "pack:5"
        tg("answerCallbackQuery", callback_query_id=query["id"], text="Good choice")
        expect(page.get_by_test_id("toast")).to_have_text("Good choice")

        # Then an edit shows in the same bubble
        tg("editMessageText", chat_id=seller, message_id=sent["message_id"], text="Pack of 5 it is.")
        edited = page.locator(f".row[data-message-id='{sent['message_id']}']")
        expect(edited.get_by_test_id("message-text")).to_have_text("Pack of 5 it is.")
        expect(edited.locator(".edited")).to_be_visible()

        # When the bot sends a Stars invoice and the seller pays it
        tg("sendInvoice", chat_id=seller, title="5 videos", description="Five promo videos", payload="pack:5",
           currency="XTR", prices=[{"label": "5 videos", "amount": 50}])  # fmt: skip
        expect(page.get_by_test_id("invoice")).to_contain_text("⭐ 50")
        page.get_by_test_id("pay-button").click()
        checkout = tg.next_update("pre_checkout_query")
        tg("answerPreCheckoutQuery", pre_checkout_query_id=checkout["id"], ok=True)

        # Then the invoice is paid and the chat says so
        expect(page.get_by_test_id("pay-button")).to_have_text("Paid ✓")
        expect(page.get_by_test_id("service-notice")).to_have_text("You paid ⭐ 50")
        assert tg.next_update("message")["successful_payment"]["total_amount"] == 50

        # And the menu lists the bot's commands
        page.get_by_test_id("menu-button").click()
        expect(page.get_by_test_id("command")).to_have_text(["/startStart", "/buyBuy credits"])
        shot(page, "06-phone-invoice")
