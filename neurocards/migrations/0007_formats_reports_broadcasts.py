"""Issue 14: what a video is made in, sellers' reports and operators' broadcasts.

- ``users.tier``, ``users.aspect_ratio``: the seller's remembered "Options";
- ``jobs.tier``, ``jobs.model``, ``jobs.aspect_ratio``, ``jobs.price``: what a job
  was made in and what it cost (``price`` is NULL on older jobs: unknown), and an
  index on (model, done_at) for the ETA's "recent finished jobs of this model";
- ``reports``: "Report a problem", one per job, resolved once;
- ``broadcasts``: /broadcast and its audit trail.
"""

import datetime as dt

from peewee import (
    BigAutoField,
    BigIntegerField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    UUIDField,
)


def _now():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("users", "tier", CharField(max_length=16, default="")),
        migrator.add_column("users", "aspect_ratio", CharField(max_length=8, default="")),
        migrator.add_column("jobs", "tier", CharField(max_length=16, default="")),
        migrator.add_column("jobs", "model", CharField(max_length=64, default="")),
        migrator.add_column("jobs", "aspect_ratio", CharField(max_length=8, default="")),
        migrator.add_column("jobs", "price", IntegerField(null=True)),
        migrator.add_index("jobs", ("model", "done_at"), False),
    )

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):  # frozen stand-ins for the tables referenced
        id = BigIntegerField(primary_key=True)

        class Meta:
            table_name = "users"

    class Job(Base):
        id = UUIDField(primary_key=True)

        class Meta:
            table_name = "jobs"

    class Report(Base):
        id = BigAutoField()
        job = ForeignKeyField(Job, unique=True, on_delete="RESTRICT")
        user = ForeignKeyField(User, on_delete="RESTRICT")
        reason = CharField(max_length=16)
        comment = TextField(default="")
        status = CharField(max_length=16, default="open", index=True)
        created_at = DateTimeField(default=_now)
        resolved_by = BigIntegerField(null=True)
        resolved_at = DateTimeField(null=True)
        rerun_job = ForeignKeyField(Job, null=True, on_delete="SET NULL")

        class Meta:
            table_name = "reports"

    class Broadcast(Base):
        id = BigAutoField()
        admin_id = BigIntegerField()
        chat_id = BigIntegerField()
        text = TextField()
        status = CharField(max_length=16, default="draft")
        created_at = DateTimeField(default=_now)
        confirmed_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        progress_message_id = BigIntegerField(null=True)
        cursor = BigIntegerField(default=0)
        total = IntegerField(default=0)
        sent = IntegerField(default=0)
        blocked = IntegerField(default=0)
        failed = IntegerField(default=0)
        runner = CharField(max_length=64, default="")
        heartbeat_at = DateTimeField(null=True)

        class Meta:
            table_name = "broadcasts"

    db.create_tables([Report, Broadcast])
