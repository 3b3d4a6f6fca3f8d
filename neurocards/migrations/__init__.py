"""Numbered schema migrations, applied in order by ``neurocards migrate``.

Each ``NNNN_name.py`` defines ``up(migrator, db)`` (peewee's
``playhouse.migrations`` runner records what has been applied), with its own
frozen copy of any table it creates, independent of ``neurocards.models``.
"""
