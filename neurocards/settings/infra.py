"""The infrastructure's sections: the database, Redis, storage, the worker processes, metrics."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from .base import Section

__all__ = ["DatabaseSettings", "RedisSettings", "StorageSettings", "WorkerSettings", "MetricsSettings"]


class DatabaseSettings(Section):
    url: str = "sqlite:///var/neurocards.db"
    busy_timeout_s: float = Field(30.0, gt=0)  # how long a SQLite writer waits for the lock

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value


class RedisSettings(Section):
    url: SecretStr = SecretStr("")
    port: int = Field(6379, ge=1, le=65535)


class StorageSettings(Section):
    dir: Path = Path("var/storage")
    max_video_mb: int = Field(50, ge=1)
    keep_days: float = Field(14.0, gt=0)  # files older than this are removed (each can be fetched again)
    sweep_period_s: float = Field(3600.0, gt=0)  # how often each process looks for them


class WorkerSettings(Section):
    processes: int = Field(1, ge=1)
    threads: int = Field(8, ge=1)
    heartbeat_timeout_s: float = Field(30.0, gt=0)
    maintenance_chance: int = Field(50_000, ge=0, le=1_000_000)
    shutdown_timeout_s: float = Field(5.0, gt=0)
    media_processes: int = Field(1, ge=1)  # `neurocards worker --media`: the FFmpeg queue's processes
    media_threads: int = Field(2, ge=1)  # ... and threads (each runs one FFmpeg at a time)  # a stopping worker waits this long for running messages


class MetricsSettings(Section):
    host: str = "127.0.0.1"
    worker_port: int = Field(9191, ge=0, le=65535)
    bot_port: int = Field(9192, ge=0, le=65535)
    watchdog_port: int = Field(9193, ge=0, le=65535)
    media_port: int = Field(9194, ge=0, le=65535)  # the media workers (`neurocards worker --media`)
