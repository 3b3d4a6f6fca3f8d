"""Telegram Stars payments and the requests waiting for one (issue 9)."""

import datetime as dt

from peewee import BigAutoField, BigIntegerField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField, UUIDField


def _now():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def up(migrator, db):
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

    class Payment(Base):
        id = BigAutoField()
        user = ForeignKeyField(User, on_delete="RESTRICT")
        telegram_charge_id = CharField(max_length=255, unique=True)
        provider_charge_id = CharField(max_length=255, default="")
        invoice_payload = CharField(max_length=128)
        currency = CharField(max_length=8)
        stars = IntegerField()
        credits = IntegerField()
        status = CharField(max_length=16, default="paid")
        receipt_sent_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        refunded_at = DateTimeField(null=True)

        class Meta:
            table_name = "payments"
            indexes = ((("user", "created_at"), False),)

    class PendingRequest(Base):
        user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
        chat_id = BigIntegerField()
        product_info = TextField(default="")
        photo_path = TextField(default="")
        photo_file_id = TextField(default="")
        parent = ForeignKeyField(Job, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now)
        expires_at = DateTimeField()

        class Meta:
            table_name = "pending_requests"

    db.create_tables([Payment, PendingRequest])
