"""Leases: one holder at a time for work that must run on one host only (the
watchdog), kept in the database so they survive Redis losing its data."""

from peewee import CharField, DateTimeField, Model


def up(migrator, db):
    class Lease(Model):
        name = CharField(max_length=64, primary_key=True)
        holder = CharField(max_length=128)
        expires_at = DateTimeField()

        class Meta:
            database = db
            table_name = "leases"

    db.create_tables([Lease])
