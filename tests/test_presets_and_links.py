"""Issue 20, without processes: what a preset names, when another format is a free
re-cut of a delivered video, that every button's data fits Telegram's 64 bytes
with the longest names the settings allow, and the signed download links."""

from __future__ import annotations

import types
import uuid

import pytest
from pydantic import ValidationError

from neurocards.jobs import formats
from neurocards.keyboards import options_keyboard, regenerate_keyboard
from neurocards.media import links
from neurocards.settings import Settings


def settings(**sections) -> Settings:
    return Settings(_env_file=None, **sections)


def job(**fields):
    values = {"tier": "fast", "aspect_ratio": "9:16", "preset": "reels"} | fields
    return types.SimpleNamespace(**values)


# -- presets ---------------------------------------------------------------------------------------


def test_a_preset_names_its_format_and_a_format_alone_takes_its_first_preset():
    s = settings()
    assert formats.choose(s, "fast", "", "ozon").aspect_ratio == "3:4"
    assert formats.choose(s, "fast", "3:4").preset == "wildberries"
    assert formats.choose(s, "fast", "16:9", "ozon").preset == "youtube"  # a preset of another format: ignored
    assert formats.choose(s, "fast", "", "tiktok") == formats.choose(s, "fast", "9:16", "reels")
    old_job = job(preset="", aspect_ratio="1:1")  # a job from before presets
    assert formats.job_choice(s, old_job).preset == "square"


def test_another_format_is_a_free_re_cut_only_from_the_same_film_in_the_same_tier():
    s = settings()
    vertical = job()
    assert formats.refinishes(vertical, formats.choose(s, "fast", "", "wildberries"))
    assert formats.refinishes(vertical, formats.choose(s, "fast", "", "square"))
    assert not formats.refinishes(vertical, formats.choose(s, "fast", "", "youtube"))  # needs a 16:9 film
    assert not formats.refinishes(vertical, formats.choose(s, "quality", "", "wildberries"))  # another model
    assert not formats.refinishes(vertical, formats.choose(s, "fast", "", "reels"))  # the same video
    card = job(aspect_ratio="3:4", preset="wildberries")
    assert formats.refinishes(card, formats.choose(s, "fast", "", "ozon"))  # same format, another preset


def test_the_longest_names_the_settings_allow_still_fit_every_buttons_data():
    tier, preset = "t" * 10, "p" * 12
    s = settings(formats={
        "tiers": [{"name": tier, "price": 999}],
        "presets": [{"name": preset, "aspect_ratio": ratio, "width": w, "height": h}
                    for ratio, w, h in (("9:16", 720, 1280), ("1:1", 720, 720), ("3:4", 720, 960),
                                        ("4:5", 720, 900), ("16:9", 1280, 720))][:1]
        + [{"name": f"x{n}", "aspect_ratio": ratio, "width": w, "height": h}
           for n, (ratio, w, h) in enumerate((("1:1", 720, 720), ("3:4", 720, 960), ("4:5", 720, 900),
                                              ("16:9", 1280, 720)))],
    })
    choice = formats.choose(s, tier, "", preset)
    panels = [options_keyboard("en", formats.tiers(s), formats.presets(s), choice),
              regenerate_keyboard("en", uuid.uuid4(), formats.tiers(s), formats.presets(s), choice, 999)]
    data = [button.callback_data for panel in panels for row in panel.inline_keyboard for button in row]
    assert max(len(d.encode()) for d in data) <= 64, max(data, key=len)


def test_a_tier_name_too_long_for_button_data_is_refused():
    with pytest.raises(ValidationError):
        settings(formats={"tiers": [{"name": "t" * 11}]})


# -- download links -----------------------------------------------------------------------------


def test_a_link_is_valid_until_it_expires_and_only_for_its_job():
    s = settings(telegram={"token": "123:secret-token", "link_ttl_s": 60})
    job_id = uuid.uuid4()
    path, expires = links.signed_path(s, job_id, now=1_000_000)
    _, _, given_id, given_expiry, signature = path.split("/")
    assert (given_id, int(given_expiry)) == (str(job_id), expires) and expires == 1_000_060
    assert links.check(s, given_id, given_expiry, signature, now=1_000_059) == "ok"
    assert links.check(s, given_id, given_expiry, signature, now=1_000_060) == "expired"
    assert links.check(s, str(uuid.uuid4()), given_expiry, signature, now=1_000_000) == "forged"
    assert links.check(s, given_id, str(expires + 3600), signature, now=1_000_000) == "forged"  # made to last
    assert links.check(s, "not-a-job", given_expiry, signature, now=1_000_000) == "forged"
    other_bot = settings(telegram={"token": "456:another", "link_ttl_s": 60})
    assert links.check(other_bot, given_id, given_expiry, signature, now=1_000_000) == "forged"
    assert "secret-token" not in path


def test_a_link_points_at_the_public_url_else_the_webhooks_origin_else_the_web_app():
    assert links.public_base(settings(telegram={"public_url": "https://cards.example/"})) == "https://cards.example"
    webhook = settings(telegram={"webhook_url": "https://bot.example:8443/telegram/webhook"})
    assert links.public_base(webhook) == "https://bot.example:8443"
    assert links.public_base(settings(telegram={"web_host": "127.0.0.1", "web_port": 8080})) == "http://127.0.0.1:8080"
