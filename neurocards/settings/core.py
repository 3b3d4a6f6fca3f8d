"""The one typed settings model for every part of Neurocards: the sections
composed, the values derived from them, loading and its one-line errors.

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

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .infra import DatabaseSettings, MetricsSettings, RedisSettings, StorageSettings, WorkerSettings
from .jobs import EtaSettings, FormatsSettings, PipelineSettings, WatchdogSettings
from .money import CreditsSettings, EconomicsSettings
from .services import KieSettings, OpenAISettings, SandboxSettings, TelegramSettings
from .styles import StylesSettings

__all__ = ["Settings", "SettingsError", "load_settings", "settings_file", "ROOT", "SETTINGS_FILE_ENV",
           "SANDBOX_BOT_TOKEN", "SANDBOX_API_KEY"]

#: The project folder: where ``settings.toml``, ``var/`` and the Procfile live.
ROOT = Path(__file__).resolve().parent.parent.parent

#: The settings file; ``NEUROCARDS_SETTINGS`` points elsewhere.
SETTINGS_FILE_ENV = "NEUROCARDS_SETTINGS"

#: The bot token the sandbox Telegram accepts when no real token is set.
SANDBOX_BOT_TOKEN = "123456789:SANDBOX-neurocards-local-token"
#: The key the sandbox KIE and OpenAI accept when no real key is set.
SANDBOX_API_KEY = "sandbox-key"


class SettingsError(Exception):
    """Settings that cannot be used; the message is one line naming the key."""


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
    economics: EconomicsSettings = EconomicsSettings()
    worker: WorkerSettings = WorkerSettings()
    metrics: MetricsSettings = MetricsSettings()
    pipeline: PipelineSettings = PipelineSettings()
    sandbox: SandboxSettings = SandboxSettings()
    watchdog: WatchdogSettings = WatchdogSettings()
    formats: FormatsSettings = FormatsSettings()
    eta: EtaSettings = EtaSettings()
    styles: StylesSettings = StylesSettings()

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

