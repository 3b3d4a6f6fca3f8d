"""Local stand-ins for the services we cannot reach from here: the Telegram Bot
API, KIE.AI and OpenAI.  Each is an aiohttp app that speaks the documented API
(``shared/API_FACTS.md``) closely enough that the real clients cannot tell, plus
a control API under ``/_sandbox/`` for tests and demos (faults, call counts, and
for Telegram, acting as a seller).

Nothing on a production path imports this package: the stack only learns the
stand-ins' base URLs from the settings.
"""
