"""Issue 20: the finishing stage between download and delivery.

- ``jobs.finishing_at``: when the job entered ``finishing`` (FFmpeg making KIE's
  clip into the file the seller asked for);
- ``jobs.preset``: what it is finished for (a marketplace or feed preset);
- ``jobs.finished_path``, ``jobs.finished_bytes``: that file (``video_path`` stays
  KIE's raw clip, kept so another format needs no new KIE task);
- ``jobs.finish_fallback``: what finishing had to do ("reencoded" to fit the size
  cap, "raw": FFmpeg could not, and KIE's clip went as it is).
"""

from peewee import BigIntegerField, CharField, DateTimeField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("jobs", "finishing_at", DateTimeField(null=True)),
        migrator.add_column("jobs", "preset", CharField(max_length=16, default="")),
        migrator.add_column("jobs", "finished_path", TextField(default="")),
        migrator.add_column("jobs", "finished_bytes", BigIntegerField(default=0)),
        migrator.add_column("jobs", "finish_fallback", CharField(max_length=16, default="")),
    )
