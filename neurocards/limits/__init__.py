"""Outside limits kept as shared budgets in Redis (DESIGN §14).

``limiter`` is the Lua-scripted primitive (sliding windows and token buckets on
Redis's clock); ``budgets`` names each budget a message needs (KIE creates and
polls per key, Telegram per bot and per chat); ``kie_keys`` is the KIE key pool.
Imports the core only.
"""
