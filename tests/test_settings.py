import pytest

from neurocards.settings import SANDBOX_BOT_TOKEN, SettingsError, load_settings


def test_defaults_come_from_settings_toml(settings_env):
    settings = load_settings()
    assert settings.credits.welcome == 3
    assert settings.credits.price == 1
    assert settings.kie.model == "veo3_fast"
    assert settings.kie.deadline_s == 900
    assert settings.database.url == "sqlite:///var/neurocards.db"
    assert settings.database_url.endswith("/var/neurocards.db")
    assert settings.database_url.startswith("sqlite:////")


def test_environment_overrides_nested_keys(settings_env, monkeypatch):
    monkeypatch.setenv("NEUROCARDS_CREDITS__WELCOME", "7")
    monkeypatch.setenv("NEUROCARDS_TELEGRAM__ADMIN_IDS", "[1, 2]")
    monkeypatch.setenv("NEUROCARDS_KIE__BASE_URL", "http://127.0.0.1:1")
    settings = load_settings()
    assert settings.credits.welcome == 7
    assert settings.telegram.admin_ids == [1, 2]
    assert settings.kie.base_url == "http://127.0.0.1:1"


def test_a_bad_value_names_the_key_in_one_line(settings_env, monkeypatch):
    monkeypatch.setenv("NEUROCARDS_CREDITS__WELCOME", "abc")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert "credits.welcome" in message and "NEUROCARDS_CREDITS__WELCOME" in message


def test_a_bad_secret_is_not_echoed(settings_env, monkeypatch):
    monkeypatch.setenv("NEUROCARDS_REDIS__URL", '{"not": "a string"}')
    monkeypatch.setenv("NEUROCARDS_DATABASE__URL", "mysql://root:hunter2@db/x")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)
    assert "database.url" in str(caught.value)


def test_secrets_are_masked_in_repr(settings_env, monkeypatch):
    monkeypatch.setenv("NEUROCARDS_TELEGRAM__TOKEN", "111111:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    monkeypatch.setenv("NEUROCARDS_KIE__API_KEY", "kie-secret-value")
    settings = load_settings()
    text = repr(settings) + str(settings) + settings.model_dump_json()
    assert "AAAAAAAAAAAAAAAAAAAA" not in text
    assert "kie-secret-value" not in text


def test_sandbox_is_used_when_no_keys_are_set(settings_env):
    settings = load_settings()
    assert settings.sandbox_active
    assert settings.telegram_api_base == "http://127.0.0.1:8081"
    assert settings.telegram_token == SANDBOX_BOT_TOKEN
    assert settings.kie_base_url == "http://127.0.0.1:8082"
    assert settings.openai_base_url == "http://127.0.0.1:8083/v1"


def test_real_keys_turn_the_sandbox_off(settings_env, monkeypatch):
    monkeypatch.setenv("NEUROCARDS_TELEGRAM__TOKEN", "111111:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    monkeypatch.setenv("NEUROCARDS_KIE__API_KEY", "k")
    monkeypatch.setenv("NEUROCARDS_OPENAI__API_KEY", "o")
    settings = load_settings()
    assert not settings.sandbox_active
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.kie_base_url == "https://api.kie.ai"
    assert settings.kie_upload_url == "https://kieai.redpandaai.co"


@pytest.mark.parametrize("word, expected", [("true", "on"), ("0", "off"), ("auto", "auto")])
def test_sandbox_switch_accepts_plain_words(settings_env, monkeypatch, word, expected):
    monkeypatch.setenv("NEUROCARDS_SANDBOX__ENABLED", word)
    assert load_settings().sandbox.enabled == expected
