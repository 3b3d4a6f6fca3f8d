"""Users, jobs and the credit ledger."""

import datetime as dt
import uuid

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
    UUIDField,
)


def _now():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        id = BigIntegerField(primary_key=True)
        language = CharField(max_length=8, default="ru")
        balance = IntegerField(default=0)
        blocked = BooleanField(default=False)
        created_at = DateTimeField(default=_now)

        class Meta:
            table_name = "users"

    class Job(Base):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        user = ForeignKeyField(User, on_delete="RESTRICT")
        chat_id = BigIntegerField()
        status = CharField(max_length=16, default="created", index=True)
        parent = ForeignKeyField("self", null=True, on_delete="SET NULL")
        photo_path = TextField(default="")
        photo_file_id = TextField(default="")
        product_info = TextField(default="")
        language = CharField(max_length=8, default="ru")
        prompt = TextField(default="")
        kie_task_id = CharField(max_length=128, default="", index=True)
        kie_attempts = IntegerField(default=0)
        kie_submitted_at = DateTimeField(null=True)
        callback_secret = CharField(max_length=64, default="")
        result_url = TextField(default="")
        video_path = TextField(default="")
        video_bytes = BigIntegerField(default=0)
        delivery_attempts = IntegerField(default=0)
        error_class = CharField(max_length=64, default="")
        error_detail = TextField(default="")
        status_message_id = BigIntegerField(null=True)
        video_message_id = BigIntegerField(null=True)
        video_file_id = TextField(default="")
        created_at = DateTimeField(default=_now)
        enhancing_at = DateTimeField(null=True)
        generating_at = DateTimeField(null=True)
        downloading_at = DateTimeField(null=True)
        delivering_at = DateTimeField(null=True)
        done_at = DateTimeField(null=True)
        failed_at = DateTimeField(null=True)
        updated_at = DateTimeField(default=_now)

        class Meta:
            table_name = "jobs"

    class LedgerEntry(Base):
        id = BigAutoField()
        user = ForeignKeyField(User, on_delete="RESTRICT")
        job = ForeignKeyField(Job, null=True, on_delete="RESTRICT")
        kind = CharField(max_length=16)
        amount = IntegerField()
        key = CharField(max_length=128, unique=True)
        reason = TextField(default="")
        created_at = DateTimeField(default=_now)

        class Meta:
            table_name = "ledger_entries"

    db.create_tables([User, Job, LedgerEntry])
