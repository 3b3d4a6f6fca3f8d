"""Create and upgrade the schema with peewee's versioned migration runner."""

from __future__ import annotations

from pathlib import Path

from playhouse.migrations import Runner

from .db import database

__all__ = ["migrate", "pending_migrations", "MIGRATIONS_DIR"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _runner(target_dir: Path = MIGRATIONS_DIR) -> Runner:
    return Runner(database.obj, directory=str(target_dir))


def migrate(target: str | None = None) -> list[str]:
    """Apply every pending migration (or up to ``target``); return their names."""
    return _runner().up(target)


def pending_migrations() -> list[str]:
    return [m.name for m in _runner().status() if m.path and not m.applied]
