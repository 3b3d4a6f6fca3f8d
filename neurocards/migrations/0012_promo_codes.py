"""Issue 22: promo codes.

- ``promo_codes``: a code an operator made (/promo new), the credits it gives,
  how many sellers may redeem it, how many have, and when it expires.  Each
  redemption is a ledger row of kind ``promo`` keyed ``promo:<code>:<seller>``.
"""

from peewee import BigIntegerField, CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class PromoCode(Model):
        code = CharField(max_length=32, primary_key=True)
        credits = IntegerField()
        max_uses = IntegerField()
        uses = IntegerField(default=0)
        expires_at = DateTimeField()
        created_by = BigIntegerField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "promo_codes"

    db.create_tables([PromoCode])
