"""Issue 20, slice 2: presets picked in "Options", and deliveries too big for a video.

- ``users.preset``: the preset the seller's next videos are finished for;
- ``jobs.delivered_as``: how the finished file reached the seller: "video",
  "document" (Telegram would not take it as a video), or "link" (over Telegram's
  upload cap: a signed link to the bot's web app that expires).
"""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("users", "preset", CharField(max_length=16, default="")),
        migrator.add_column("jobs", "delivered_as", CharField(max_length=16, default="")),
    )
