"""The data model: sellers, their jobs and the credit ledger (DESIGN §4).

The schema itself is created and upgraded by the numbered scripts in
``neurocards/migrations`` (``neurocards migrate``); these classes must match
the newest of them.
"""

from __future__ import annotations

import datetime as dt
import enum
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

from .db import database

__all__ = ["User", "Job", "LedgerEntry", "Payment", "PendingRequest", "JobStatus", "LedgerKind", "PaymentStatus", "ACTIVE_STATUSES", "STATUS_ORDER", "utcnow", "MODELS"]


def utcnow() -> dt.datetime:
    """Naive UTC now: every timestamp in the database is UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class JobStatus(enum.StrEnum):
    CREATED = "created"
    ENHANCING = "enhancing"
    GENERATING = "generating"
    DOWNLOADING = "downloading"
    DELIVERING = "delivering"
    DONE = "done"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)


#: The states a job may still leave.
ACTIVE_STATUSES = tuple(status for status in JobStatus if not status.final)

#: Every state in the order a job goes through them (failed last).
STATUS_ORDER = tuple(JobStatus)


class LedgerKind(enum.StrEnum):
    WELCOME = "welcome"
    GRANT = "grant"
    PURCHASE = "purchase"
    PURCHASE_REFUND = "purchase_refund"  # Stars given back: the credits bought are taken back
    DEBIT = "debit"
    REFUND = "refund"


class PaymentStatus(enum.StrEnum):
    PAID = "paid"  # the pack was credited
    REFUNDED = "refunded"  # Stars given back, the pack's credits taken back
    UNMATCHED = "unmatched"  # Telegram took Stars for a payload we can't honour: an operator decides


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    id = BigIntegerField(primary_key=True)  # the Telegram user id
    language = CharField(max_length=8, default="ru")
    balance = IntegerField(default=0)
    blocked = BooleanField(default=False)  # the seller blocked the bot
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "users"


class Job(BaseModel):
    id = UUIDField(primary_key=True, default=uuid.uuid4)
    user = ForeignKeyField(User, backref="jobs", on_delete="RESTRICT")
    chat_id = BigIntegerField()
    status = CharField(max_length=16, default=JobStatus.CREATED, index=True)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")

    # input
    photo_path = TextField(default="")
    photo_file_id = TextField(default="")
    product_info = TextField(default="")
    language = CharField(max_length=8, default="ru")

    # pipeline
    prompt = TextField(default="")
    moved_by_message = CharField(max_length=64, default="")  # id of the message that made the last transition
    kie_task_id = CharField(max_length=128, default="", index=True)  # KIE's task id; "" before a task exists
    poll_count = IntegerField(default=0)
    kie_attempts = IntegerField(default=0)
    kie_submitted_at = DateTimeField(null=True)
    callback_secret = CharField(max_length=64, default="")
    result_url = TextField(default="")
    video_path = TextField(default="")
    video_bytes = BigIntegerField(default=0)
    delivery_attempts = IntegerField(default=0)

    # claims on outside effects that must happen once: the Redis delivery id of
    # the message doing it ("" when nobody is); see jobs.claim
    submit_claim = CharField(max_length=64, default="")  # creating the KIE task
    send_claim = CharField(max_length=64, default="")  # sending the video
    notice_claim = CharField(max_length=64, default="")  # sending the failure message

    # outcome
    error_class = CharField(max_length=64, default="")
    error_detail = TextField(default="")

    # Telegram messages
    status_message_id = BigIntegerField(null=True)
    video_message_id = BigIntegerField(null=True)
    video_file_id = TextField(default="")

    # timestamps per stage
    created_at = DateTimeField(default=utcnow)
    enhancing_at = DateTimeField(null=True)
    generating_at = DateTimeField(null=True)
    downloading_at = DateTimeField(null=True)
    delivering_at = DateTimeField(null=True)
    done_at = DateTimeField(null=True)
    failed_at = DateTimeField(null=True)
    failure_notified_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "jobs"
        indexes = (
            (("user", "created_at"), False),
            (("status", "updated_at"), False),
        )


class LedgerEntry(BaseModel):
    id = BigAutoField()
    user = ForeignKeyField(User, backref="ledger", on_delete="RESTRICT")
    job = ForeignKeyField(Job, null=True, backref="ledger", on_delete="RESTRICT")
    kind = CharField(max_length=16)
    amount = IntegerField()
    key = CharField(max_length=128, unique=True)
    reason = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ledger_entries"
        indexes = ((("user", "created_at"), False),)


class Payment(BaseModel):
    """One Telegram Stars payment, keyed by Telegram's charge id (DESIGN §11)."""

    id = BigAutoField()
    user = ForeignKeyField(User, backref="payments", on_delete="RESTRICT")
    telegram_charge_id = CharField(max_length=255, unique=True)
    provider_charge_id = CharField(max_length=255, default="")
    invoice_payload = CharField(max_length=128)
    currency = CharField(max_length=8)
    stars = IntegerField()  # total_amount, in whole Stars
    credits = IntegerField()  # what the pack gave (0 for an unmatched payment)
    status = CharField(max_length=16, default=PaymentStatus.PAID)
    receipt_sent_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    refunded_at = DateTimeField(null=True)

    class Meta:
        table_name = "payments"
        indexes = ((("user", "created_at"), False),)


class PendingRequest(BaseModel):
    """A video a seller asked for without the credits for it: kept for a while,
    started by itself once a payment lands (one per seller, the latest)."""

    user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    chat_id = BigIntegerField()
    product_info = TextField(default="")
    photo_path = TextField(default="")
    photo_file_id = TextField(default="")
    parent = ForeignKeyField(Job, null=True, on_delete="SET NULL")  # "Generate again" of this job
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()

    class Meta:
        table_name = "pending_requests"


MODELS = (User, Job, LedgerEntry, Payment, PendingRequest)


class Lease(BaseModel):
    """Something only one process may do at a time, across hosts (the watchdog):
    held by ``holder`` until ``expires_at`` unless renewed (:mod:`neurocards.leases`).
    Kept in the database, not Redis, so it holds when Redis loses everything."""

    name = CharField(max_length=64, primary_key=True)
    holder = CharField(max_length=128)
    expires_at = DateTimeField()

    class Meta:
        table_name = "leases"


MODELS = (*MODELS, Lease)
__all__ += ["Lease"]
