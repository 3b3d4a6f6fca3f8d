"""Sellers: registration with the one-time welcome grant."""

from __future__ import annotations

from peewee import IntegrityError

from .db import database
from .models import User
from .money import credits

__all__ = ["register", "set_language", "mark_blocked", "is_blocked", "remember_choice"]


def register(user_id: int, language: str, welcome_credits: int) -> tuple[User, bool]:
    """Return the seller, creating them (with the welcome grant) on first contact.

    The row and the grant are one transaction, so no one ever sees a new seller
    without their welcome credits.  Safe to call concurrently and repeatedly:
    the row is created once and the grant is keyed on the user id.
    """
    existing = User.get_or_none(User.id == user_id)
    if existing is not None:  # the common case: a read, no write lock
        return existing, False
    try:
        with database.atomic():
            User.create(id=user_id, language=language)
            if welcome_credits:
                credits.welcome(user_id, welcome_credits)
    except IntegrityError:  # created by a concurrent first contact
        return User.get_by_id(user_id), False
    return User.get_by_id(user_id), True


def set_language(user_id: int, language: str) -> None:
    User.update(language=language).where(User.id == user_id).execute()


def mark_blocked(user_id: int, blocked: bool = True) -> None:
    """Record that the seller blocked (or unblocked) the bot."""
    User.update(blocked=blocked).where(User.id == user_id).execute()


def is_blocked(user_id: int) -> bool:
    """Whether the seller has blocked the bot (nothing can be sent to them)."""
    return bool(User.select(User.blocked).where(User.id == user_id).scalar())


def remember_style(user_id: int, style: str) -> None:
    """The style the seller picked last: the one their next photo is offered first (issue 21)."""
    User.update(style=style).where(User.id == user_id).execute()


def remember_choice(user_id: int, tier: str, aspect_ratio: str, preset: str = "") -> None:
    """The tier, format and preset the seller's next videos are made in ("Options")."""
    User.update(tier=tier, aspect_ratio=aspect_ratio, preset=preset).where(User.id == user_id).execute()
