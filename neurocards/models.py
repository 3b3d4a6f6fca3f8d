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
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    UUIDField,
)

from .db import database

__all__ = ["User", "Job", "LedgerEntry", "Payment", "PendingRequest", "Subscription", "SubscriptionStatus", "JobStatus", "LedgerKind", "PaymentStatus", "ACTIVE_STATUSES", "STATUS_ORDER", "utcnow", "MODELS", "stamp_column",
           "stage_stamps", "stage_durations"]


def utcnow() -> dt.datetime:
    """Naive UTC now: every timestamp in the database is UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class JobStatus(enum.StrEnum):
    CREATED = "created"
    ENHANCING = "enhancing"
    GENERATING = "generating"
    DOWNLOADING = "downloading"
    FINISHING = "finishing"  # KIE's clip made into the file the seller asked for (FFmpeg)
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


def stamp_column(status: JobStatus) -> str:
    """The timestamp column stamped when a job enters ``status`` (``created_at`` for the first)."""
    return f"{status}_at"


class LedgerKind(enum.StrEnum):
    WELCOME = "welcome"
    GRANT = "grant"
    PURCHASE = "purchase"
    PURCHASE_REFUND = "purchase_refund"  # Stars given back: the credits bought are taken back
    DEBIT = "debit"
    REFUND = "refund"
    REFUND_REVERSAL = "refund_reversal"  # a failed job's video reached the seller after all: its refund taken back
    GOODWILL_REFUND = "goodwill_refund"  # an operator gave back a delivered job's price ("Report a problem")
    PROMO = "promo"  # a promo code redeemed: once per seller per code, within its uses and expiry
    REFERRAL = "referral"  # an inviter's bonus: the seller they invited made a first purchase
    REFERRAL_UNDO = "referral_undo"  # ... taken back: the Stars of that purchase were given back
    SUBSCRIPTION = "subscription"  # a month of a Stars subscription paid: its credits
    SUBSCRIPTION_EXPIRY = "sub_expiry"  # the unused credits of a month gone by (no rollover)


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
    # what the seller's videos are made in ("Options"); "" means the default
    tier = CharField(max_length=16, default="")
    aspect_ratio = CharField(max_length=8, default="")
    preset = CharField(max_length=16, default="")  # what they are finished for: a marketplace card, Reels, ...
    # referrals (neurocards.money.referrals): the seller's own code, made at their
    # first /invite; who invited them, set only by the /start that registered them
    referral_code = CharField(max_length=16, null=True, unique=True)
    referred_by = BigIntegerField(null=True, index=True)
    style = CharField(max_length=16, default="")  # the style last picked (issue 21); "" is "no style"

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
    photo_count = IntegerField(default=1)  # with the photos after the first (neurocards.jobs.photos)
    product_info = TextField(default="")
    language = CharField(max_length=8, default="ru")
    style = CharField(max_length=16, default="")  # its style (issue 21; neurocards.jobs.styles), "" for none
    brief = TextField(default="")  # the idea the seller picked, the prompt's brief ("" for none)
    safety_retries = IntegerField(default=0)  # free retries after KIE refused on its content policy
    batch = BigIntegerField(null=True, index=True)  # the batch it is one of (neurocards.jobs.batches), if any
    batch_waiting = BooleanField(default=False)  # debited, waiting for the seller's earlier batch jobs to end
    # what it is made in and what it cost (chosen before it started); "" / None on jobs older than that
    tier = CharField(max_length=16, default="")
    model = CharField(max_length=64, default="")  # the KIE model; "" means kie.model
    aspect_ratio = CharField(max_length=8, default="")  # the seller's format; "" means kie.aspect_ratio
    price = IntegerField(null=True)  # credits debited when it started (0: an operator's free re-run)

    # pipeline
    prompt = TextField(default="")
    moved_by_message = CharField(max_length=64, default="")  # id of the message that made the last transition
    kie_task_id = CharField(max_length=128, default="", index=True)  # KIE's task id; "" before a task exists
    poll_count = IntegerField(default=0)
    next_poll_at = DateTimeField(null=True)  # when the scheduled poll of KIE is due (the watchdog's yardstick)
    kie_attempts = IntegerField(default=0)
    kie_submitted_at = DateTimeField(null=True)
    kie_key = CharField(max_length=16, default="")  # fingerprint of the KIE key that created the task ("" = the first)
    kie_image_url = TextField(default="")  # the photo in KIE's file store, uploaded once per job
    kie_image_expires_at = DateTimeField(null=True)  # ... reused until then (KIE keeps uploads >= 24 h)
    callback_secret = CharField(max_length=64, default="")
    result_url = TextField(default="")
    video_path = TextField(default="")  # KIE's clip as downloaded (the raw file)
    video_bytes = BigIntegerField(default=0)
    preset = CharField(max_length=16, default="")  # what it is finished for ("" = its format's default)
    finished_path = TextField(default="")  # the file the seller gets
    finished_bytes = BigIntegerField(default=0)
    finish_fallback = CharField(max_length=16, default="")  # "", "reencoded", "raw": what finishing had to do
    delivered_as = CharField(max_length=16, default="")  # "video", "document", or "link" (too big for Telegram)
    delivery_attempts = IntegerField(default=0)
    # what it cost (neurocards.jobs.costs): KIE's credits for every task it made
    # (the price table's, corrected by KIE's own figure where it reports one) and
    # the prompt model's tokens
    kie_credits = FloatField(default=0)
    kie_cost_source = CharField(max_length=8, default="")  # "table", or "kie" once KIE reported the last task's
    openai_input_tokens = IntegerField(default=0)
    openai_output_tokens = IntegerField(default=0)

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
    finishing_at = DateTimeField(null=True)
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
            (("model", "done_at"), False),  # recent finished jobs per model: the ETA
            (("status", "next_poll_at"), False),  # generating jobs past their poll: the watchdog
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
    # the one refund of this charge under way: who holds it ("" when nobody), since when
    refund_claim = CharField(max_length=64, default="")
    refund_claimed_at = DateTimeField(null=True)
    recovered_at = DateTimeField(null=True)  # credited by the reconciler: no update had recorded it
    subscription_id = BigIntegerField(null=True, index=True)  # the subscription this paid a month of

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
    more_photos = TextField(default="")  # JSON: the product's other photos, [{"path", "file_id"}] (issue 21)
    style = CharField(max_length=16, default="")  # the look and idea picked for it (issue 21)
    brief = TextField(default="")
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


class ReportReason(enum.StrEnum):
    """What a seller says is wrong with a delivered video ("Report a problem")."""

    WRONG_PRODUCT = "wrong_product"
    BAD_QUALITY = "bad_quality"
    TEXT_ARTEFACTS = "text_artefacts"
    OTHER = "other"  # with a line of the seller's own


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    REFUNDED = "refunded"  # the job's price given back (a goodwill_refund ledger row)
    RERUN = "rerun"  # a new job made free of charge (price 0)
    DISMISSED = "dismissed"

    @property
    def resolved(self) -> bool:
        return self is not ReportStatus.OPEN


class Report(BaseModel):
    """A seller's complaint about a delivered video, resolved once by an operator
    (:mod:`neurocards.jobs.reports`); one per job."""

    id = BigAutoField()
    job = ForeignKeyField(Job, unique=True, backref="reports", on_delete="RESTRICT")
    user = ForeignKeyField(User, backref="reports", on_delete="RESTRICT")
    reason = CharField(max_length=16)
    comment = TextField(default="")
    status = CharField(max_length=16, default=ReportStatus.OPEN, index=True)
    created_at = DateTimeField(default=utcnow)
    resolved_by = BigIntegerField(null=True)  # the operator's Telegram id
    resolved_at = DateTimeField(null=True)
    rerun_job = ForeignKeyField(Job, null=True, backref="rerun_of", on_delete="SET NULL")

    class Meta:
        table_name = "reports"


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"  # previewed, waiting for the operator's confirmation
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(BaseModel):
    """An operator's message to every seller (/broadcast), and its audit trail:
    who wrote it, when it was confirmed and finished, and what came of it
    (:mod:`neurocards.broadcasts`)."""

    id = BigAutoField()
    admin_id = BigIntegerField()  # who wrote and confirmed it
    chat_id = BigIntegerField()  # where its preview and progress line are
    text = TextField()  # HTML, as the sellers get it
    status = CharField(max_length=16, default=BroadcastStatus.DRAFT)
    created_at = DateTimeField(default=utcnow)
    confirmed_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    progress_message_id = BigIntegerField(null=True)
    cursor = BigIntegerField(default=0)  # the last seller id handled: sellers go in id order
    total = IntegerField(default=0)  # sellers it was meant for when confirmed
    sent = IntegerField(default=0)
    blocked = IntegerField(default=0)  # 403: the seller blocked the bot (marked, skipped from then on)
    failed = IntegerField(default=0)
    runner = CharField(max_length=64, default="")  # the bot process sending it
    heartbeat_at = DateTimeField(null=True)  # its last sign of life; a stale one is taken over

    class Meta:
        table_name = "broadcasts"


MODELS = (*MODELS, Report, Broadcast)
__all__ += ["ReportReason", "ReportStatus", "Report", "BroadcastStatus", "Broadcast"]


class PromoCode(BaseModel):
    """Credits an operator gives away under a code (/promo new): each seller
    redeems it once, at most ``max_uses`` sellers in all, until ``expires_at``
    (:mod:`neurocards.money.promos`).  ``uses`` moves only with its ledger row."""

    code = CharField(max_length=32, primary_key=True)  # upper case: codes are typed case-insensitively
    credits = IntegerField()
    max_uses = IntegerField()
    uses = IntegerField(default=0)
    expires_at = DateTimeField()
    created_by = BigIntegerField()  # the operator
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "promo_codes"


MODELS = (*MODELS, PromoCode)


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"  # renews every month
    CANCELLED = "cancelled"  # the seller cancelled it: it runs to the end of the month paid, then ends
    ENDED = "ended"  # the month paid is over with no renewal (cancelled, or the renewal never came)


class Subscription(BaseModel):
    """A seller's monthly plan paid in Stars (:mod:`neurocards.money.subscriptions`):
    each month's payment is a :class:`Payment` with this ``subscription_id``
    and a ``subscription`` ledger row keyed by its charge id."""

    id = BigAutoField()
    user = ForeignKeyField(User, backref="subscriptions", on_delete="RESTRICT")
    first_charge_id = CharField(max_length=255, unique=True)  # what editUserStarSubscription names
    invoice_payload = CharField(max_length=128)  # every renewal carries the first invoice's payload
    credits = IntegerField()  # a month's
    stars = IntegerField()  # a month's
    status = CharField(max_length=16, default=SubscriptionStatus.ACTIVE)
    period_end = DateTimeField()  # the end of the month paid (Telegram's subscription_expiration_date)
    months = IntegerField(default=1)  # months paid
    created_at = DateTimeField(default=utcnow)
    cancelled_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)

    class Meta:
        table_name = "subscriptions"
        indexes = ((("user", "invoice_payload"), False), (("status", "period_end"), False))


MODELS = (*MODELS, Subscription)


class JobPhoto(BaseModel):
    """A job's photos after its first (which stays on the job): the product from
    other sides, sent to KIE as reference images where the model takes them
    (issue 21).  ``position`` 1 and 2; each uploaded to KIE once, like the first."""

    job = ForeignKeyField(Job, backref="more_photos", on_delete="CASCADE")
    position = IntegerField()
    path = TextField(default="")
    file_id = TextField(default="")
    kie_image_url = TextField(default="")
    kie_image_expires_at = DateTimeField(null=True)

    class Meta:
        table_name = "job_photos"
        indexes = ((("job", "position"), True),)


MODELS = (*MODELS, JobPhoto)
__all__ += ["JobPhoto"]


class Batch(BaseModel):
    """Several videos confirmed at once (issue 21): each a normal job (``jobs.batch``),
    all debited in one transaction; one summary message edited as they end."""

    id = BigAutoField()
    user = ForeignKeyField(User, on_delete="RESTRICT")
    key = CharField(max_length=64, unique=True)  # the confirmation's: confirmed twice, made once
    chat_id = BigIntegerField()
    language = CharField(max_length=8, default="ru")
    size = IntegerField()
    summary_message_id = BigIntegerField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "batches"


MODELS = (*MODELS, Batch)
__all__ += ["Batch"]
__all__ += ["PromoCode"]


def stage_stamps(job: Job) -> list[tuple[JobStatus, dt.datetime]]:
    """When the job entered each state it reached, in order."""
    stamps = [(status, getattr(job, stamp_column(status))) for status in STATUS_ORDER]
    return [(status, at) for status, at in stamps if at is not None]


def stage_durations(job: Job) -> dict[str, float]:
    """Seconds the job spent in each state it left, keyed by that state
    (``created`` is the wait in the queue, ``generating`` KIE's work, …); a failed
    job's last state ends at its failure.  For metrics and ``/job``."""
    stamps = stage_stamps(job)
    return {
        str(state): (left - entered).total_seconds()
        for (state, entered), (_, left) in zip(stamps, stamps[1:])
        if not state.final
    }
