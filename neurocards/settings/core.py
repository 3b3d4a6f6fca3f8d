"""One typed settings model for every part of Neurocards.

Defaults live in ``settings.toml``; environment variables named
``NEUROCARDS_<SECTION>__<KEY>`` override them, and a ``.env`` file is read when
present.  When no token or key is configured (``sandbox.enabled = "auto"``),
every external base URL points at the local stand-ins, so the stack runs with no
keys at all.  Secrets are ``SecretStr``: masked in every repr and log line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "SettingsError", "Pack", "Tier", "load_settings", "ROOT"]

#: The project folder: where ``settings.toml``, ``var/`` and the Procfile live.
ROOT = Path(__file__).resolve().parent.parent

#: The settings file; ``NEUROCARDS_SETTINGS`` points elsewhere.
SETTINGS_FILE_ENV = "NEUROCARDS_SETTINGS"

#: The bot token the sandbox Telegram accepts when no real token is set.
SANDBOX_BOT_TOKEN = "123456789:SANDBOX-neurocards-local-token"
#: The key the sandbox KIE and OpenAI accept when no real key is set.
SANDBOX_API_KEY = "sandbox-key"


class SettingsError(Exception):
    """Settings that cannot be used; the message is one line naming the key."""


class _Section(BaseModel):
    model_config = {"extra": "forbid", "validate_assignment": True}


class TelegramSettings(_Section):
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


class KieSettings(_Section):
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
    poll_per_s: float = Field(10.0, ge=0)  # KIE's polls per key per second; 0: none (benchmarks)
    rate_margin_s: float = Field(0.25, ge=0)  # added to KIE's windows: a request's trip never lands inside one
    upload_valid_s: float = Field(72_000.0, gt=0)  # an uploaded photo's URL is reused this long (KIE keeps >= 24 h)
    poll_with_callbacks_s: float = Field(300.0, gt=0)  # safety-net poll gap when callback_base_url is set


class OpenAISettings(_Section):
    api_key: SecretStr = SecretStr("")
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(60.0, gt=0)


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/neurocards.db"
    busy_timeout_s: float = Field(30.0, gt=0)  # how long a SQLite writer waits for the lock

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value


class RedisSettings(_Section):
    url: SecretStr = SecretStr("")
    port: int = Field(6379, ge=1, le=65535)


class StorageSettings(_Section):
    dir: Path = Path("var/storage")
    max_video_mb: int = Field(50, ge=1)
    keep_days: float = Field(14.0, gt=0)  # files older than this are removed (each can be fetched again)
    sweep_period_s: float = Field(3600.0, gt=0)  # how often each process looks for them


class Pack(_Section):
    """Credits sold together for a price in Telegram Stars."""

    credits: int = Field(ge=1)
    stars: int = Field(ge=1, le=100_000)


class CreditsSettings(_Section):
    welcome: int = Field(3, ge=0)
    price: int = Field(1, ge=1)
    packs: list[Pack] = [Pack(credits=5, stars=50), Pack(credits=10, stars=90), Pack(credits=30, stars=240)]
    invoice_ttl_s: float = Field(3600.0, gt=0)  # how long an invoice can be paid
    pending_request_ttl_s: float = Field(1800.0, gt=0)  # how long a request waits for a top-up
    reconcile_period_s: float = Field(900.0, gt=0)  # payments checked against Telegram's Star transactions
    payment_wait_s: float = Field(300.0, ge=0)  # a payment's update waits this long for a database outage to end
    recover_after_s: float = Field(60.0, ge=0)  # ... then the reconciler credits a charge this old from Telegram's list

    def pack(self, credits: int, stars: int) -> Pack | None:
        """The pack selling ``credits`` for ``stars``, if it is on sale."""
        return next((pack for pack in self.packs if (pack.credits, pack.stars) == (credits, stars)), None)


class WorkerSettings(_Section):
    processes: int = Field(1, ge=1)
    threads: int = Field(8, ge=1)
    heartbeat_timeout_s: float = Field(30.0, gt=0)
    maintenance_chance: int = Field(50_000, ge=0, le=1_000_000)
    shutdown_timeout_s: float = Field(5.0, gt=0)  # a stopping worker waits this long for running messages


class MetricsSettings(_Section):
    host: str = "127.0.0.1"
    worker_port: int = Field(9191, ge=0, le=65535)
    bot_port: int = Field(9192, ge=0, le=65535)
    watchdog_port: int = Field(9193, ge=0, le=65535)


class PipelineSettings(_Section):
    enhance_time_limit_s: float = Field(120, gt=0)
    submit_time_limit_s: float = Field(90, gt=0)
    poll_time_limit_s: float = Field(60, gt=0)
    download_time_limit_s: float = Field(300, gt=0)
    deliver_time_limit_s: float = Field(300, gt=0)
    notify_time_limit_s: float = Field(60, gt=0)
    max_retries: int = Field(5, ge=0)
    min_backoff_s: float = Field(5.0, gt=0)
    max_backoff_s: float = Field(120.0, gt=0)
    max_age_s: float = Field(3600, gt=0)
    delivery_attempts: int = Field(3, ge=1)
    openai_fallback: bool = True


class WatchdogSettings(_Section):
    """When a job counts as stuck, and what the watchdog does about it (DESIGN §12).

    ``<state>_s`` is how long a job may stay in that state without a write (its
    ``updated_at``) before its message is taken for lost and sent again: longer
    than the state's normal gaps (polls come every ``kie.poll_max_s``) and than
    its actor's time limit (a claim older than that has no live holder).
    """

    period_s: float = Field(15.0, gt=0)  # how often it looks
    lease_s: float = Field(60.0, gt=0)  # one watchdog at a time: another host takes over after this
    created_s: float = Field(300.0, gt=0)
    enhancing_s: float = Field(600.0, gt=0)
    generating_s: float = Field(180.0, gt=0)  # past the job's next scheduled poll (next_poll_at), not its last write
    downloading_s: float = Field(600.0, gt=0)
    delivering_s: float = Field(600.0, gt=0)
    unnotified_s: float = Field(300.0, gt=0)  # a failed job whose seller was not told
    notify_within_s: float = Field(86_400.0, gt=0)  # ... is told again only this long after its failure
    deadline_s: float = Field(3600.0, gt=0)  # a stuck job older than this is failed and refunded
    batch: int = Field(500, ge=1)  # jobs per state per pass

    def stale_after_s(self, status: str) -> float:
        """How long a job may stay in ``status`` (an active state) without a write."""
        return getattr(self, f"{status}_s")


class Tier(_Section):
    """A quality tier a seller can pick under "Options": a KIE model at a price in
    credits.  Without ``model`` or ``price`` it takes ``kie.model`` / ``credits.price``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,11}$")  # goes into button data: short, plain
    model: str | None = None
    price: int | None = Field(None, ge=1)


class FormatsSettings(_Section):
    """What a video is made in (issue 14): the tiers on offer, the first the default.
    The default format (aspect ratio) is ``kie.aspect_ratio``."""

    tiers: list[Tier] = [Tier(name="fast"), Tier(name="quality", model="veo3", price=3)]

    @field_validator("tiers")
    @classmethod
    def _named_once(cls, tiers: list[Tier]) -> list[Tier]:
        names = [tier.name for tier in tiers]
        if not names:
            raise ValueError("at least one tier is needed")
        if len(set(names)) != len(names):
            raise ValueError("tier names must differ")
        return tiers


class EtaSettings(_Section):
    """The time left shown on the status message, from recent jobs' stage times (issue 14)."""

    recent_jobs: int = Field(20, ge=1)  # finished jobs per model whose stage times make the estimate
    default_filming_s: float = Field(270.0, gt=0)  # KIE's filming time assumed before a model has history
    refresh_s: float = Field(10.0, ge=0)  # each process works the medians out again at most this often (0: always)


class SandboxSettings(_Section):
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


class Settings(BaseSettings):
    """Every setting, validated.  Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="NEUROCARDS_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    telegram: TelegramSettings = TelegramSettings()
    kie: KieSettings = KieSettings()
    openai: OpenAISettings = OpenAISettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    storage: StorageSettings = StorageSettings()
    credits: CreditsSettings = CreditsSettings()
    worker: WorkerSettings = WorkerSettings()
    metrics: MetricsSettings = MetricsSettings()
    pipeline: PipelineSettings = PipelineSettings()
    sandbox: SandboxSettings = SandboxSettings()
    watchdog: WatchdogSettings = WatchdogSettings()
    formats: FormatsSettings = FormatsSettings()
    eta: EtaSettings = EtaSettings()

    #: The folder that relative paths are resolved against: the settings file's.
    home: Path = Field(default_factory=lambda: settings_file().resolve().parent)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=settings_file())
        return init_settings, env_settings, dotenv_settings, toml

    # -- derived values -------------------------------------------------------

    @property
    def sandbox_active(self) -> bool:
        """Whether the stack talks to the local stand-ins instead of the real services."""
        if self.sandbox.enabled != "auto":
            return self.sandbox.enabled == "on"
        secrets = (self.telegram.token, self.kie.api_key, self.openai.api_key, *self.kie.api_keys)
        return not any(secret.get_secret_value() for secret in secrets)

    @property
    def real_keys_set(self) -> list[str]:
        """The settings holding a real service's token or key (names only)."""
        secrets = {"telegram.token": self.telegram.token, "kie.api_key": self.kie.api_key,
                   "openai.api_key": self.openai.api_key}
        named = [name for name, secret in secrets.items() if secret.get_secret_value()]
        return named + (["kie.api_keys"] if any(key.get_secret_value() for key in self.kie.api_keys) else [])

    def sandbox_url(self, service: Literal["telegram", "kie", "openai"]) -> str:
        port = getattr(self.sandbox, f"{service}_port")
        return f"http://{self.sandbox.host}:{port}"

    @property
    def telegram_api_base(self) -> str:
        return self.sandbox_url("telegram") if self.sandbox_active else self.telegram.api_base

    @property
    def telegram_token(self) -> str:
        token = self.telegram.token.get_secret_value()
        return token or (SANDBOX_BOT_TOKEN if self.sandbox_active else "")

    @property
    def kie_base_url(self) -> str:
        return self.sandbox_url("kie") if self.sandbox_active else self.kie.base_url

    @property
    def kie_upload_url(self) -> str:
        return self.sandbox_url("kie") if self.sandbox_active else self.kie.upload_url

    @property
    def kie_api_key(self) -> str:
        key = self.kie.api_key.get_secret_value()
        return key or (SANDBOX_API_KEY if self.sandbox_active else "")

    @property
    def kie_api_keys(self) -> list[str]:
        """The KIE key pool: ``kie.api_keys``, else ``kie.api_key`` alone (each once, in order)."""
        pool = [key.get_secret_value() for key in self.kie.api_keys if key.get_secret_value()]
        return list(dict.fromkeys(pool)) or [self.kie_api_key]

    @property
    def openai_base_url(self) -> str:
        return self.sandbox_url("openai") + "/v1" if self.sandbox_active else self.openai.base_url

    @property
    def openai_api_key(self) -> str:
        key = self.openai.api_key.get_secret_value()
        return key or (SANDBOX_API_KEY if self.sandbox_active else "")

    @property
    def redis_url(self) -> str:
        """The configured Redis, or the embedded one on 127.0.0.1."""
        url = self.redis.url.get_secret_value()
        return url or f"redis://127.0.0.1:{self.redis.port}/0"

    @property
    def redis_embedded(self) -> bool:
        return not self.redis.url.get_secret_value()

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
            rest = url[len(prefix):]
            if rest not in ("", ":memory:"):
                return prefix + str(self.path(rest))
        return url

    @property
    def storage_dir(self) -> Path:
        return self.path(self.storage.dir)

    @property
    def var_dir(self) -> Path:
        return self.path("var")

    def path(self, value: str | Path) -> Path:
        """Resolve a settings path against :attr:`home`."""
        path = Path(value)
        return path if path.is_absolute() else self.home / path


def settings_file() -> Path:
    return Path(os.environ.get(SETTINGS_FILE_ENV, ROOT / "settings.toml"))


def load_settings(**overrides) -> Settings:
    """Read and validate the settings; raise :class:`SettingsError` with one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"])
    env = "NEUROCARDS_" + "__".join(str(part).upper() for part in first["loc"])
    shown = "" if _is_secret(first["loc"]) else f" (got {first.get('input')!r})"
    more = f" [and {len(errors) - 1} more]" if len(errors) > 1 else ""
    return f"bad setting {key}{shown}: {first['msg']}; set it in settings.toml or {env}{more}"


def _is_secret(loc: tuple) -> bool:
    return any(word in str(part) for part in loc for word in ("token", "key", "secret", "url"))

