"""The outside services' sections: Telegram, KIE.AI, OpenAI, and the sandbox that stands in for them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from .base import Section

__all__ = ["TelegramSettings", "KieSettings", "OpenAISettings", "SandboxSettings"]


class TelegramSettings(Section):
    token: SecretStr = SecretStr("")
    api_base: str = "https://api.telegram.org"
    admin_ids: list[int] = []
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    support_contact: str = "@neurocards_support"
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=0, le=65535)
    max_jobs_in_flight: int = Field(2, ge=1)
    max_product_info_chars: int = Field(500, ge=1)
    status_edit_interval_s: float = Field(3.0, ge=0)
    chat_messages_per_s: int = Field(1, ge=1)
    ops_chat_id: int = 0  # where "Report a problem" cards go; 0: to each of admin_ids
    broadcast_per_s: float = Field(10.0, gt=0, le=30)  # /broadcast's pace, well under Telegram's ~30/s
    messages_per_s: float = Field(30.0, ge=0)  # Telegram's overall flood limit per bot token; 0: none (benchmarks)
    upload_limit_mb: float = Field(50.0, gt=0)  # a bot's upload cap (a local Bot API server takes 2000)
    public_url: str = ""  # the bot's web app as sellers reach it (download links); "": webhook_url's, else web_host
    link_ttl_s: float = Field(7 * 86_400.0, gt=0)  # a download link for a video too big for Telegram works this long

    @property
    def upload_limit_bytes(self) -> int:
        return int(self.upload_limit_mb * 1024 * 1024)


class KieSettings(Section):
    api_key: SecretStr = SecretStr("")
    base_url: str = "https://api.kie.ai"
    upload_url: str = "https://kieai.redpandaai.co"
    model: str = "veo3_fast"
    aspect_ratio: str = "9:16"
    callback_base_url: str = ""
    webhook_hmac_key: SecretStr = SecretStr("")
    poll_first_s: float = Field(15.0, gt=0)
    poll_max_s: float = Field(30.0, gt=0)
    deadline_s: float = Field(900.0, gt=0)
    max_attempts: int = Field(2, ge=1)
    timeout_s: float = Field(30.0, gt=0)
    api_keys: list[SecretStr] = []  # a key pool: creates spread over them, each with its own budgets
    key_park_s: float = Field(600.0, gt=0)  # a key answering 401/402 is not used for this long
    create_limit: int = Field(20, ge=0)  # KIE's creates per key in any create_window_s; 0: none (benchmarks)
    create_window_s: float = Field(10.0, gt=0)
    fair_share: bool = True  # creates round-robin across sellers when more wait than a window lets through
    paid_lane: bool = False  # ... with the sellers who ever paid first
    poll_per_s: float = Field(10.0, ge=0)  # KIE's polls per key per second; 0: none (benchmarks)
    rate_margin_s: float = Field(0.25, ge=0)  # added to KIE's windows: a request's trip never lands inside one
    upload_valid_s: float = Field(72_000.0, gt=0)  # an uploaded photo's URL is reused this long (KIE keeps >= 24 h)
    poll_with_callbacks_s: float = Field(300.0, gt=0)  # safety-net poll gap when callback_base_url is set
    balance_period_s: float = Field(60.0, gt=0)  # how often the watchdog reads KIE's balance
    balance_reserve_credits: float = Field(0.0, ge=0)  # a tier closes when the balance can't pay a task plus this
    # a model whose recent tasks fail this often is closed for breaker_cooldown_s, then tried again
    breaker_failure_rate: float = Field(0.5, gt=0, le=1)
    breaker_min_jobs: int = Field(5, ge=1)  # ... out of at least this many jobs ended at KIE
    breaker_window_s: float = Field(900.0, gt=0)  # ... submitted in this window
    breaker_cooldown_s: float = Field(300.0, gt=0)
    breaker_hold_s: float = Field(900.0, ge=0)  # a paid job waits this long for its closed tier, then is refunded


class OpenAISettings(Section):
    api_key: SecretStr = SecretStr("")
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(60.0, gt=0)
    # a description is checked by OpenAI's moderation before anything is charged (issue 21);
    # a check that fails or takes longer than moderation_timeout_s lets the request go on
    moderation: bool = True
    moderation_model: str = "omni-moderation-latest"
    moderation_timeout_s: float = Field(5.0, gt=0)
    # the prompt is written before the charge, so a photo the prompt model refuses costs nothing;
    # past prompt_before_charge_timeout_s (or on an outage) the pipeline writes it, as before
    prompt_before_charge: bool = True
    prompt_before_charge_timeout_s: float = Field(20.0, gt=0)


class SandboxSettings(Section):
    enabled: Literal["auto", "on", "off"] = "auto"
    host: str = "127.0.0.1"
    telegram_port: int = Field(8081, ge=0, le=65535)
    kie_port: int = Field(8082, ge=0, le=65535)
    openai_port: int = Field(8083, ge=0, le=65535)
    generation_s: float = Field(20.0, ge=0)
    accept_real_keys: bool = False  # let a process with keys set talk to the stand-ins (tests with several tokens)

    @field_validator("enabled", mode="before")
    @classmethod
    def _bool_words(cls, value):
        words = {True: "on", False: "off", "true": "on", "false": "off", "1": "on", "0": "off"}
        key = value.lower() if isinstance(value, str) else value
        return words.get(key, value)
