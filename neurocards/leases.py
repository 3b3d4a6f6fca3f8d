"""Leases in the database: work that one process at a time may do, across hosts.

A lease is one row, ``leases(name, holder, expires_at)``.  :func:`acquire` takes
it or renews it with a conditional update (held by us, or expired), or creates
it with an insert that loses on the primary key to a concurrent creator; so of
two processes asking at once, one gets it.  A holder that stops renewing (a
crash, a host cut off) loses it ``lease_s`` later; :func:`release` gives it up at
once.  It lives in the database rather than Redis because its first user, the
watchdog, must work when Redis has lost everything.

Expiry is read from each host's clock: hosts must agree on the time to well
within ``lease_s`` (NTP does).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from peewee import IntegrityError

from .db import database
from .models import Lease, utcnow

__all__ = ["acquire", "release", "holder_id"]


def holder_id() -> str:
    """A name for this process that no other process, here or on another host, has."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(name: str, holder: str, lease_s: float) -> bool:
    """Take or renew the lease ``name`` for ``lease_s`` seconds; True when ``holder`` has it."""
    now = utcnow()
    expires_at = now + dt.timedelta(seconds=lease_s)
    ours_or_free = (Lease.name == name) & ((Lease.holder == holder) | (Lease.expires_at < now))
    if Lease.update(holder=holder, expires_at=expires_at).where(ours_or_free).execute():
        return True
    try:
        with database.atomic():
            Lease.insert(name=name, holder=holder, expires_at=expires_at).execute()
    except IntegrityError:  # it exists, and someone else holds it
        return False
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up now, if ``holder`` has it, so another process need not wait it out."""
    Lease.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
        (Lease.name == name) & (Lease.holder == holder)).execute()
