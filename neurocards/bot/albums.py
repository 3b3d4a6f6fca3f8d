"""Albums (media groups): Telegram sends each item of an album as its own message,
with the same ``media_group_id``; the album is one request (issue 21).

Each item is put in a Redis list as it comes (every bot instance shares it: the
items of one album can reach different instances behind a webhook).  The first
item's handler becomes the album's *collector*: it returns at once — the chat's
later updates, the album's other items among them, wait for it
(:mod:`.chat_order`) — and starts a task that waits until the album has been
quiet for :data:`QUIET_S`, then hands over all of its items, in the order they
were sent.  What the album holds is sorted by :func:`sort_out`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiogram.types import Message
from redis.asyncio import Redis

from .photos import MAX_PHOTO_BYTES, MIN_SIDE_PX, suffix_of

__all__ = ["Item", "Sorted", "AlbumCollector", "item_of", "sort_out", "MAX_ITEMS", "QUIET_S"]

logger = logging.getLogger(__name__)

#: Telegram's own cap on an album's items.
MAX_ITEMS = 10
#: The album is complete once no item came for this long (Telegram sends them within a second).
QUIET_S = 1.2
#: ... or this long after its first item, whatever still comes.
LONGEST_S = 6.0
#: How long an album's items stay in Redis.
KEPT_S = 300


@dataclasses.dataclass(frozen=True)
class Item:
    """One item of an album, as much of it as deciding what to do needs."""

    message_id: int
    kind: str  # "photo", "image" (an image sent as a file), "video", "document" (not an image), "other"
    file_id: str = ""
    file_unique_id: str = ""
    file_size: int | None = None
    width: int | None = None
    height: int | None = None
    caption: str = ""

    @property
    def is_image(self) -> bool:
        return self.kind in ("photo", "image")


def item_of(message: Message) -> Item:
    caption = (message.caption or "").strip()
    if message.photo:
        largest = message.photo[-1]
        return Item(message.message_id, "photo", largest.file_id, largest.file_unique_id, largest.file_size,
                    largest.width, largest.height, caption)
    if message.document:
        document = message.document
        kind = "image" if suffix_of(document.mime_type) else (
            "video" if (document.mime_type or "").startswith("video/") else "document")
        return Item(message.message_id, kind, document.file_id, document.file_unique_id, document.file_size,
                    caption=caption)
    if message.video or message.animation:
        return Item(message.message_id, "video", caption=caption)
    return Item(message.message_id, "other", caption=caption)


@dataclasses.dataclass(frozen=True)
class Sorted:
    """An album sorted out: the usable photos, in order, and what was left out and why."""

    photos: list[Item]
    caption: str
    videos: int = 0  # videos left out
    others: int = 0  # documents that are not images, and anything else
    small: int = 0  # photos under MIN_SIDE_PX or over the size limit
    duplicates: int = 0  # the same photo twice
    too_many: bool = False  # more items than an album can hold

    @property
    def left_out(self) -> bool:
        return bool(self.videos or self.others or self.small or self.duplicates)


def sort_out(items: list[Item]) -> Sorted:
    """The album's usable photos (each once), its caption (the first item's that
    has one) and a count of what is left out."""
    items = sorted(items, key=lambda item: item.message_id)
    caption = next((item.caption for item in items if item.caption), "")
    photos: list[Item] = []
    seen: set[str] = set()
    videos = others = small = duplicates = 0
    for item in items:
        if item.kind == "video":
            videos += 1
        elif not item.is_image:
            others += 1
        elif _too_small_or_big(item):
            small += 1
        elif item.file_unique_id in seen:
            duplicates += 1
        else:
            seen.add(item.file_unique_id)
            photos.append(item)
    return Sorted(photos, caption, videos, others, small, duplicates, too_many=len(items) > MAX_ITEMS)


def _too_small_or_big(item: Item) -> bool:
    if item.file_size and item.file_size > MAX_PHOTO_BYTES:
        return True
    return item.width is not None and item.height is not None and min(item.width, item.height) < MIN_SIDE_PX


Handler = Callable[[Message, list[Item]], Awaitable[None]]


class AlbumCollector:
    """Collects albums in Redis and hands each, complete, to one handler call."""

    def __init__(self, redis: Redis, *, quiet_s: float = QUIET_S, longest_s: float = LONGEST_S) -> None:
        self.redis = redis
        self.quiet_s = quiet_s
        self.longest_s = longest_s
        self._tasks: set[asyncio.Task] = set()

    async def add(self, message: Message, handle: Handler, on_late: Callable[[Message], Awaitable[None]]) -> None:
        """Keep this item; the album's first starts the wait for the rest.  An item that
        comes after its album was handed over goes to ``on_late`` (never dropped unsaid)."""
        key = f"neurocards:album:{message.chat.id}:{message.media_group_id}"
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(f"{key}:handed")
            pipe.rpush(f"{key}:items", json.dumps(dataclasses.asdict(item_of(message))))
            pipe.expire(f"{key}:items", KEPT_S)
            pipe.set(f"{key}:last", now, ex=KEPT_S)
            # short-lived: an album whose collector died with its bot is collected again when redelivered
            pipe.set(f"{key}:collector", 1, nx=True, ex=int(self.longest_s * 4))
            handed, *_, first = await pipe.execute()
        if handed:
            await on_late(message)
        elif first:
            task = asyncio.create_task(self._collect(key, message, handle, now, on_late), name=f"album-{key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _collect(self, key: str, first: Message, handle: Handler, started: float, on_failed) -> None:
        try:
            while True:
                last = float(await self.redis.get(f"{key}:last") or started)
                now = time.time()
                if now - last >= self.quiet_s or now - started >= self.longest_s:
                    break
                await asyncio.sleep(min(self.quiet_s - (now - last), self.longest_s - (now - started)) + 0.01)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrange(f"{key}:items", 0, -1)
                pipe.set(f"{key}:handed", 1, ex=KEPT_S)  # an item later still is answered as late
                raw, _ = await pipe.execute()
            await handle(first, [Item(**json.loads(entry)) for entry in raw])
        except Exception:  # outside the dispatcher: its error router never sees this
            logger.exception("album %s not handled", key)
            try:
                await on_failed(None)
            except Exception:
                logger.warning("the seller was not told their album failed", exc_info=True)

    async def wait(self, timeout_s: float = 10.0) -> None:
        """Let albums being collected finish (the bot stopping)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
