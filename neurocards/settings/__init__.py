"""Settings: one typed model for every part of Neurocards (DESIGN §3).

``core`` composes the sections, derives what the stack talks to (the sandbox's
URLs when no key is set) and loads them with one-line errors; each section
lives with the others of its kind — ``services`` (Telegram, KIE, OpenAI, the
sandbox), ``infra`` (database, Redis, storage, worker, metrics), ``money``
(prices, packs, payments) and ``jobs`` (pipeline, watchdog, formats, ETA).
Imports nothing of Neurocards: everything else imports it.
"""

from .core import *  # noqa: F403
from .core import __all__ as _core_all
from .jobs import Tier
from .money import Pack

__all__ = [*_core_all, "Pack", "Tier"]
