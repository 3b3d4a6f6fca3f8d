"""Issue 22: Stars subscriptions.

- ``subscriptions``: a seller's monthly plan, named by its first payment's
  charge id; its status (active, cancelled, ended) and the end of the month
  paid.  Each month's payment is a ``payments`` row with ``subscription_id``,
  credited by a ``subscription`` ledger row keyed ``subscription:<charge id>``.
"""

from peewee import BigAutoField, BigIntegerField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class User(Model):  # a frozen stand-in for the table referenced
        id = BigIntegerField(primary_key=True)

        class Meta:
            database = db
            table_name = "users"

    class Subscription(Model):
        id = BigAutoField()
        user = ForeignKeyField(User, on_delete="RESTRICT")
        first_charge_id = CharField(max_length=255, unique=True)
        invoice_payload = CharField(max_length=128)
        credits = IntegerField()
        stars = IntegerField()
        status = CharField(max_length=16, default="active")
        period_end = DateTimeField()
        months = IntegerField(default=1)
        created_at = DateTimeField()
        cancelled_at = DateTimeField(null=True)
        ended_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "subscriptions"
            indexes = ((("user", "invoice_payload"), False), (("status", "period_end"), False))

    db.create_tables([Subscription])
    migrator.migrate(migrator.add_column("payments", "subscription_id", BigIntegerField(null=True, index=True)))
