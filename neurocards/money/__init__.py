"""Money: the credit ledger and everything that moves credits or Stars.

``credits`` is the ledger (the only place a balance changes); ``payments``,
``invoices``, ``pending`` and ``reconcile`` are Stars coming in (and going back);
``audit`` checks the ledger's invariants.  Imports the core (models, db) and
nothing above it: no jobs, no HTTP, no Telegram.
"""
