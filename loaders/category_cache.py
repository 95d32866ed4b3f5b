"""The categories a process has read, kept between requests while nothing has changed them.

Nearly every catalog answer shows its products' categories, and a shop has few of them that
rarely change: fetching them with every page cost mongod a third of the page's read (a lookup
joined to the products, or a second query). This process keeps what it has read, as stored.

It may serve them only while it follows the categories' change stream (`follow`): whatever
changes a category, from any process, removes it when the change arrives, a few milliseconds
after the write committed. The process that writes one forgets it before its mutation answers
(`forget`: the query cache calls it with each invalidation naming a category), so its own next
read sees the write. While the stream is not open (at start, MongoDB unreachable, a deployment
without change streams) nothing is kept and every read goes to MongoDB, as without this cache.

A read that started before a change must not keep what it read: `generation` is taken before
the read and `keep` refuses rows read under an earlier one.

Another process learns of a change only when its event arrives, while the query cache in Redis
hears of it as soon as the writer has committed: an answer that will be stored there must not be
built from kept categories (`Loaders.kept_categories`), or it could keep a category's old name
under the new tag versions until it expires.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from documents.placement import PLACEMENT_GUARD

logger = logging.getLogger(__name__)

# A shop with more categories than this keeps the ones read most recently.
MAX_KEPT = 10_000
# After a failure, the stream is opened again after this pause, doubled up to the maximum; the
# pause starts over once a stream has stayed open this long.
FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 30.0
STEADY_SECONDS = 10.0
# Every product write increments this counter on its categories (documents/placement.py): an
# update that changes only it changes nothing a reader sees, and is not worth forgetting for.
_CHANGES_READERS_SEE = [
    {
        "$match": {
            "$expr": {
                "$not": {
                    "$and": [
                        {"$eq": ["$operationType", "update"]},
                        {
                            "$eq": [
                                {
                                    "$map": {
                                        "input": {
                                            "$objectToArray": "$updateDescription.updatedFields"
                                        },
                                        "in": "$$this.k",
                                    }
                                },
                                [PLACEMENT_GUARD],
                            ]
                        },
                        {"$eq": [{"$ifNull": ["$updateDescription.removedFields", []]}, []]},
                        {"$eq": [{"$ifNull": ["$updateDescription.truncatedArrays", []]}, []]},
                    ]
                }
            }
        }
    }
]


class CategoryCache:
    """One per process: stored categories by id, while their change stream is followed."""

    def __init__(self, *, max_kept: int = MAX_KEPT) -> None:
        self._kept: OrderedDict[ObjectId, dict[str, Any]] = OrderedDict()
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
        found = self._kept.get(category_id)
        if found is not None:
            self._kept.move_to_end(category_id)
        return found

    def keep(self, generation: int, stored: Iterable[dict[str, Any]]) -> None:
        """Keep categories read from MongoDB under `generation`, unless something changed since
        (or the stream is not followed now)."""
        if not self._following or generation != self._generation:
            return
        for category in stored:
            self._kept[category["_id"]] = category
            self._kept.move_to_end(category["_id"])
        while len(self._kept) > self._max_kept:
            self._kept.popitem(last=False)  # the one read longest ago

    def forget(self, category_ids: Iterable[Any] | None = None) -> None:
        """Categories changed (`category_ids`; None: any may have): keep nothing of them read
        before now."""
        if category_ids is None:
            self._kept.clear()
        else:
            for category_id in category_ids:
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
        if operation in ("update", "replace", "delete"):
            self.forget([change.get("documentKey", {}).get("_id")])
        else:
            self.forget()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Return once `condition()` holds, checked whenever the state moves (the stream
        opened or closed, a change forgotten). Bound it with a timeout."""
        while not condition():
            await self._moved.wait()

    def _announce(self) -> None:
        self._moved.set()
        self._moved = asyncio.Event()

    async def follow(self, collection: AsyncCollection[Any], *, max_await_ms: int = 1000) -> None:
        """Follow `collection`'s change stream until cancelled, forgetting on every change;
        each wait for changes lasts at most `max_await_ms` (keep it below the client's socket
        timeout). When the stream ends or fails (everything is then forgotten), open it again
        after a pause, which grows while it keeps failing. Categories are kept only while a
        stream is open."""
        pause = FIRST_PAUSE_SECONDS
        failing = False
        while True:
            opened_at: float | None = None
            try:
                async with await collection.watch(
                    _CHANGES_READERS_SEE, max_await_time_ms=max_await_ms
                ) as stream:
                    self._following = True
                    opened_at = time.monotonic()
                    self.forget()  # nothing read before the stream opened can be trusted
                    while stream.alive and not _cancel_requested():
                        change = await stream.try_next()  # None after max_await_ms
                        if change is not None:
                            self._changed(change)
            except Exception as error:  # whatever it is, categories are read from MongoDB
                if _cancel_requested():
                    raise asyncio.CancelledError from error  # stopping: nothing to report
                # Said once a run of failures: a deployment without change streams fails always.
                logger.log(
                    logging.DEBUG if failing else logging.WARNING,
                    "category cache: not following changes (%s); categories are read from "
                    "MongoDB meanwhile",
                    error,
                    exc_info=not (failing or isinstance(error, PyMongoError)),
                )
                failing = True
            finally:
                self._following = False
                self.forget()
            if _cancel_requested():
                raise asyncio.CancelledError  # one the driver swallowed (`_cancel_requested`)
            if opened_at is not None and time.monotonic() - opened_at >= STEADY_SECONDS:
                pause, failing = FIRST_PAUSE_SECONDS, False  # not one failure after another
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)


def _cancel_requested() -> bool:
    """Whether this task was asked to stop. The driver may swallow the `CancelledError` of a
    cancel that lands just as a reply arrives, and carry on: the loop checks as well."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
