"""Indexes for the questions asked most: a seller's jobs by recency, in-flight
jobs by age (stuck-job checks) and a seller's ledger by recency."""


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("jobs", ("user_id", "created_at")),
        migrator.add_index("jobs", ("status", "updated_at")),
        migrator.add_index("ledger_entries", ("user_id", "created_at")),
    )
