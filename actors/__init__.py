"""Dramatiq actors, one module per concern.  ``dramatiq actors`` loads them all.

Importing this package configures the broker from the settings, then imports
every actor module so the worker knows each one.
"""

from neurocards.broker import build_broker
from neurocards.settings import get_settings

broker = build_broker(get_settings().redis_url)
