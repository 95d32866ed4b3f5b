"""Turns on products for the transactions of this process that write their documents.

Taking stock (checkout, a late payment), giving it back (cancel, expiry) and counting a review
all write the product's document. Two such transactions at once conflict in MongoDB: all but one
abort and retry, and with many at once (buyers of one hot product, a hundred reviewers) the
retries run past the transaction's time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Iterable

from bson import ObjectId

# Across processes MongoDB's write conflicts still decide; the turns only spare the attempts of
# this process that were bound to fail.
_product_turns: weakref.WeakValueDictionary[ObjectId, asyncio.Lock] = weakref.WeakValueDictionary()


@contextlib.asynccontextmanager
async def product_turns(product_ids: Iterable[ObjectId]) -> AsyncIterator[None]:
    """Hold the turn of every product while a transaction that writes their documents runs; taken
    in one global order, so two holders never wait on each other. Take it before the transaction
    starts, never inside one."""
    locks = [
        _product_turns.setdefault(product_id, asyncio.Lock())
        for product_id in sorted(set(product_ids))
    ]
    async with contextlib.AsyncExitStack() as stack:
        for lock in locks:
            await stack.enter_async_context(lock)
        yield
