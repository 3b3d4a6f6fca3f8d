"""Issue 12: a job remembers its KIE key and its uploaded photo.

- ``jobs.kie_key``: the fingerprint (never the key) of the KIE key that created
  the job's task, which its polls use; "" on older jobs (the first key);
- ``jobs.kie_image_url``, ``jobs.kie_image_expires_at``: the photo uploaded to
  KIE's file API once per job, reused by resubmits and retries until it expires.
"""

from peewee import CharField, DateTimeField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("jobs", "kie_key", CharField(max_length=16, default="")),
        migrator.add_column("jobs", "kie_image_url", TextField(default="")),
        migrator.add_column("jobs", "kie_image_expires_at", DateTimeField(null=True)),
    )
