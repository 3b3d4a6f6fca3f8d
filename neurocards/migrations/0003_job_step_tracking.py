"""Columns that make every pipeline step safe to run twice: the message that
applied the job's last transition, the poll sequence, and when the seller was
told about a failure."""

from peewee import CharField, DateTimeField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("jobs", "step_token", CharField(max_length=64, default="")),
        migrator.add_column("jobs", "poll_count", IntegerField(default=0)),
        migrator.add_column("jobs", "failure_notified_at", DateTimeField(null=True)),
    )
