"""The base of every loader: a caller that is cancelled does not cancel the load for the others.

A DataLoader hands every caller of `load(key)` the same future. Awaiting a future from a task that
gets cancelled cancels the future itself, and GraphQL-core cancels the sibling fields of a field
that failed: without a shield, a field elsewhere in the query waiting on the same key (a
product's category, say) would get `CancelledError`, which is no error GraphQL can report, and
the whole request would fail. Later loads of that key would get the cancelled future from the cache.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiodataloader import DataLoader


class CancellationSafeLoader(DataLoader):
    """A DataLoader whose callers each await the shared result through a shield."""

    def load(self, key: Any) -> asyncio.Future[Any]:
        shared: asyncio.Future[Any] = super().load(key)
        return asyncio.shield(shared)

    def loaded(self, key: Any) -> tuple[bool, Any]:
        """`(True, value)` when a load of `key` has already finished without error, so a caller
        can answer without awaiting; else `(False, None)`."""
        # aiodataloader keeps the future of every key it loaded, or is loading, in `_cache`.
        future = self._cache.get(self.get_cache_key(key)) if self.cache else None
        if future is None or not future.done() or future.cancelled() or future.exception():
            return False, None
        return True, future.result()
