"""Issue 21: batches.

- ``batches``: several videos confirmed at once, with the message summing them up;
- ``jobs.batch``: the batch a job is one of; ``jobs.batch_waiting``: debited, and
  waiting for the seller's earlier jobs to end (a batch queues behind itself);
- ``pending_requests.style`` / ``.brief``: the look and idea of a request kept for a top-up.
"""

from peewee import (
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class User(Model):  # a frozen stand-in for the table referenced
        id = BigIntegerField(primary_key=True)

        class Meta:
            database = db
            table_name = "users"

    class Batch(Model):
        id = BigAutoField()
        user = ForeignKeyField(User, on_delete="RESTRICT")
        key = CharField(max_length=64, unique=True)
        chat_id = BigIntegerField()
        language = CharField(max_length=8, default="ru")
        size = IntegerField()
        summary_message_id = BigIntegerField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "batches"

    db.create_tables([Batch])
    migrator.migrate(
        migrator.add_column("jobs", "batch", BigIntegerField(null=True, index=True)),
        migrator.add_column("jobs", "batch_waiting", BooleanField(default=False)),
        migrator.add_column("pending_requests", "style", CharField(max_length=16, default="")),
        migrator.add_column("pending_requests", "brief", TextField(default="")),
    )
