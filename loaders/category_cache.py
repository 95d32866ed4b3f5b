"""The categories a process has read, kept between requests while nothing has changed them.

Nearly every catalog answer shows its products' categories, and a shop has few of them that
rarely change: fetching them with every page cost mongod a third of the page's read (a lookup
joined to the products, or a second query). This process keeps what it has read, as stored.

It may serve them only while it follows the categories' change stream (`follow`): whatever
changes a category, from any process, removes it when the change arrives, a few milliseconds
after the write committed. The process that writes one empties it before its mutation answers
(`forget`: the query cache calls it with each invalidation naming a category), so its own next read sees the write.
While the stream is not open (at start, MongoDB unreachable, a deployment without change
streams) nothing is kept and every read goes to MongoDB, as it would without this cache.

A read that started before a change must not keep what it read: `generation` is taken before
the read and `keep` refuses rows read under an earlier one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

logger = logging.getLogger(__name__)

# A shop with more categories than this keeps the ones read most recently.
MAX_KEPT = 10_000
# After a failure, the stream is opened again after this pause, doubled up to the maximum.
FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 30.0


class CategoryCache:
    """One per process: stored categories by id, while their change stream is followed."""

    def __init__(self, *, max_kept: int = MAX_KEPT) -> None:
        self._kept: dict[ObjectId, dict[str, Any]] = {}
        self._max_kept = max_kept
        self._generation = 0
        self._following = False
        # Set (and replaced) whenever the state moves: the stream opened or closed, a forgetting.
        self._moved = asyncio.Event()

    @property
    def live(self) -> bool:
        """Whether categories are kept now: the change stream is open."""
        return self._following

    @property
    def generation(self) -> int:
        """Take it before reading categories from MongoDB, and give it to `keep`."""
        return self._generation

    def kept(self, category_id: ObjectId) -> dict[str, Any] | None:
        """The stored category, if kept (never while not `live`). Treat it as read-only."""
        return self._kept.get(category_id)

    def keep(self, generation: int, stored: Iterable[dict[str, Any]]) -> None:
        """Keep categories read from MongoDB under `generation`, unless something changed since
        (or the stream is not followed now)."""
        if not self._following or generation != self._generation:
            return
        for category in stored:
            if len(self._kept) >= self._max_kept:
                # The oldest kept first: dicts keep their insertion order.
                del self._kept[next(iter(self._kept))]
            self._kept[category["_id"]] = category

    def forget(self, category_id: Any = None) -> None:
        """A category changed (`category_id`; None: any may have): keep nothing read before now
        of it."""
        if category_id is None:
            self._kept.clear()
        else:
            self._kept.pop(category_id, None)
        # Reads under way may have read any category before the change: they keep nothing.
        self._generation += 1
        self._announce()

    def _changed(self, change: dict[str, Any]) -> None:
        """An event of the change stream: an insert changes nothing kept (what is not found
        is not kept); an update, replacement or deletion changes its document; anything else
        (the collection dropped or renamed) may have changed them all."""
        operation = change.get("operationType")
        if operation == "insert":
            return
        key = change.get("documentKey", {}).get("_id")
        self.forget(key if operation in ("update", "replace", "delete") else None)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Return once `condition()` holds, checked whenever the state moves (the stream
        opened or closed, a change forgotten). Bound it with a timeout."""
        while not condition():
            await self._moved.wait()

    def _announce(self) -> None:
        self._moved.set()
        self._moved = asyncio.Event()

    async def follow(self, collection: AsyncCollection[Any]) -> None:
        """Follow `collection`'s change stream until cancelled, forgetting on every change.
        When the stream ends or fails (everything is then forgotten), open it again after a pause, which grows while it keeps
        failing. Categories are kept only while a stream is open."""
        pause = FIRST_PAUSE_SECONDS
        failing = False
        while True:
            try:
                async with await collection.watch() as stream:
                    self._following = True
                    self.forget()  # nothing read before the stream opened can be trusted
                    pause, failing = FIRST_PAUSE_SECONDS, False
                    async for change in stream:
                        self._changed(change)
            except PyMongoError as error:
                # Said once a run of failures: a deployment without change streams fails always.
                logger.log(
                    logging.DEBUG if failing else logging.WARNING,
                    "category cache: not following changes (%s); categories are read from "
                    "MongoDB meanwhile",
                    error,
                )
                failing = True
            finally:
                self._following = False
                self.forget()
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)
