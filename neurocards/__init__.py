"""Neurocards: a Telegram bot that turns a seller's product photo into a short promo video."""

__version__ = "0.1.0"
