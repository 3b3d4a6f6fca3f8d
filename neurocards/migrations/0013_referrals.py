"""Issue 22: referrals.

- ``users.referral_code``: the seller's own code, for ``/start ref_<code>``
  links (made at their first /invite; unique);
- ``users.referred_by``: the seller who invited them, set only by the /start
  that registered them.  The inviter's bonus is a ledger row of kind
  ``referral`` keyed ``referral:<invited seller>``.
"""

from peewee import BigIntegerField, CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("users", "referral_code", CharField(max_length=16, null=True, unique=True)),
        migrator.add_column("users", "referred_by", BigIntegerField(null=True, index=True)),
    )
