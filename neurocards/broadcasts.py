"""Operators' broadcasts (/broadcast): the draft, its one confirmation, the run's
progress, and the audit trail they leave — who wrote it, when it was confirmed
and finished, what it said, and how many sellers got it, had blocked the bot or
could not be reached.  It knows nothing about Telegram (the bot sends:
:mod:`neurocards.bot.broadcaster`).

Sellers are sent to in id order; the row keeps the last id handled
(``cursor``) and the counts, saved as the run goes, with a heartbeat.  A run
whose bot process died (no heartbeat for ``stale_s``) is taken over by another
— or the same, restarted — from its cursor, so a broadcast ends even across a
restart; a seller may then get it twice, never not at all for that reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from .models import Broadcast, BroadcastStatus, User, utcnow

__all__ = ["Counts", "draft", "audience", "confirm", "cancel", "recipients", "save_progress", "finish",
           "set_progress_message", "take_over", "get_broadcast"]


@dataclasses.dataclass
class Counts:
    sent: int = 0
    blocked: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.failed


def draft(admin_id: int, chat_id: int, text: str) -> Broadcast:
    """A broadcast previewed and waiting for its operator's confirmation."""
    return Broadcast.create(admin_id=admin_id, chat_id=chat_id, text=text)


def get_broadcast(broadcast_id: int) -> Broadcast | None:
    return Broadcast.get_or_none(Broadcast.id == broadcast_id)


def audience() -> int:
    """How many sellers a broadcast would reach now: all who have not blocked the bot."""
    return User.select().where(User.blocked == False).count()  # noqa: E712  (SQL, not Python)


def confirm(broadcast_id: int, runner: str) -> Broadcast | None:
    """Start sending the draft, once: the broadcast, or None when it was confirmed
    (or cancelled) before."""
    now = utcnow()
    moved = (
        Broadcast.update(status=BroadcastStatus.SENDING, confirmed_at=now, heartbeat_at=now, runner=runner,
                         total=audience())
        .where((Broadcast.id == broadcast_id) & (Broadcast.status == BroadcastStatus.DRAFT))
        .execute()
    )
    return Broadcast.get_by_id(broadcast_id) if moved else None


def cancel(broadcast_id: int) -> bool:
    return (
        Broadcast.update(status=BroadcastStatus.CANCELLED, finished_at=utcnow())
        .where((Broadcast.id == broadcast_id) & (Broadcast.status == BroadcastStatus.DRAFT))
        .execute()
        == 1
    )


def recipients(after_id: int, limit: int) -> list[int]:
    """The next sellers to send to: ids above ``after_id`` who have not blocked the bot."""
    query = (User.select(User.id).where((User.id > after_id) & (User.blocked == False))  # noqa: E712
             .order_by(User.id).limit(limit))
    return [user.id for user in query]


def set_progress_message(broadcast_id: int, message_id: int) -> None:
    Broadcast.update(progress_message_id=message_id).where(Broadcast.id == broadcast_id).execute()


def save_progress(broadcast_id: int, runner: str, cursor: int, counts: Counts) -> bool:
    """Record how far the run got; False when another runner has taken it over
    (this one must stop)."""
    return (
        Broadcast.update(cursor=cursor, sent=counts.sent, blocked=counts.blocked, failed=counts.failed,
                         heartbeat_at=utcnow())
        .where((Broadcast.id == broadcast_id) & (Broadcast.runner == runner)
               & (Broadcast.status == BroadcastStatus.SENDING))
        .execute()
        == 1
    )


def finish(broadcast_id: int, runner: str, cursor: int, counts: Counts) -> bool:
    """The run is over: the final counts, once."""
    return (
        Broadcast.update(status=BroadcastStatus.DONE, finished_at=utcnow(), cursor=cursor, sent=counts.sent,
                         blocked=counts.blocked, failed=counts.failed, heartbeat_at=utcnow())
        .where((Broadcast.id == broadcast_id) & (Broadcast.runner == runner)
               & (Broadcast.status == BroadcastStatus.SENDING))
        .execute()
        == 1
    )


def take_over(runner: str, stale_s: float) -> list[Broadcast]:
    """Runs whose sender went quiet for ``stale_s``, now ``runner``'s to finish."""
    stale = utcnow() - dt.timedelta(seconds=stale_s)
    taken = []
    for broadcast in Broadcast.select().where((Broadcast.status == BroadcastStatus.SENDING)
                                              & (Broadcast.heartbeat_at < stale)):
        moved = (
            Broadcast.update(runner=runner, heartbeat_at=utcnow())
            .where((Broadcast.id == broadcast.id) & (Broadcast.status == BroadcastStatus.SENDING)
                   & (Broadcast.heartbeat_at == broadcast.heartbeat_at))
            .execute()
        )
        if moved:
            taken.append(Broadcast.get_by_id(broadcast.id))
    return taken
