"""Issue 25: the four money holes found in review.

- ``payments.refund_claim``, ``payments.refund_claimed_at``: the one refund of a
  charge under way (who holds it, since when), so two operators or two bot
  instances refunding one charge never both take back and give back;
- ``payments.recovered_at``: when the reconciler credited a charge Telegram
  listed and no update had recorded (the handler met a database outage);
- ``jobs.next_poll_at``: when a generating job's next scheduled poll of KIE is
  due, which the watchdog's "stuck" threshold follows.
"""

from peewee import CharField, DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("payments", "refund_claim", CharField(max_length=64, default="")),
        migrator.add_column("payments", "refund_claimed_at", DateTimeField(null=True)),
        migrator.add_column("payments", "recovered_at", DateTimeField(null=True)),
        migrator.add_column("jobs", "next_poll_at", DateTimeField(null=True)),
        migrator.add_index("jobs", ("status", "next_poll_at"), False),
    )
