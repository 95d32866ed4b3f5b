"""When a process may serve cached entries: never while an invalidation Redis has not taken waits.

Every invalidation is recorded in MongoDB (`documents/cache_invalidations.py`) in the transaction of
the write that causes it, then applied to Redis, then deleted. A record still there means some
entries in Redis may show data that is no longer true. Redis cannot be told so (it may be the one
refusing writes), and every process reads the same Redis, so each process asks MongoDB instead:
it serves cached entries only while it holds a lease, that is, while it has confirmed within the
last `check_interval_seconds` that no record is left. The confirmation applies the records it
finds (a replay), so the process that sees one is the one that clears it once Redis accepts
writes again.

Staleness bounds: the process whose invalidation failed drops its lease at once (the failure is
noticed before the mutation answers), so it never serves an entry the write should have retired.
Another process may serve such an entry until its lease runs out, at most `check_interval_seconds`
after the write committed. A lookup costs MongoDB nothing while the lease holds; one check per
interval and process confirms it, and concurrent lookups share that check.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

from pymongo.errors import PyMongoError

from documents.cache_invalidations import forget_invalidations, pending_invalidations
from documents.common import stored_id
from resolvers.query_cache.tags import CATALOG_TAG

logger = logging.getLogger(__name__)

# A replay reads records in batches; past this many distinct tags one catalog-wide invalidation
# is cheaper than naming them all, and retires at least as much.
_REPLAY_BATCH = 100
_REPLAY_ROUNDS = 20
_REPLAY_MAX_TAGS = 1000

ApplyInvalidation = Callable[[set[str], str], Awaitable[bool]]


class ServingLease:
    """One per process and cache: whether cached entries may be served now."""

    def __init__(
        self,
        apply: ApplyInvalidation,
        *,
        check_interval_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._apply = apply
        self._interval = check_interval_seconds
        self._clock = clock
        self._serve_until = -math.inf
        self._next_check_at = -math.inf
        self._revocations = 0
        self._check: asyncio.Future[bool] | None = None

    def revoke(self) -> None:
        """An invalidation this process recorded did not reach Redis: stop serving now."""
        self._revocations += 1
        self._serve_until = -math.inf

    async def allows_serving(self) -> bool:
        """True while this process has confirmed recently enough that nothing waits to be
        applied. An expired lease is renewed by one check that concurrent lookups share; after a
        check that found work it could not apply, the next waits out the interval."""
        now = self._clock()
        if now < self._serve_until:
            return True
        if now < self._next_check_at:
            return False
        if self._check is None or self._check.done():
            self._check = asyncio.ensure_future(self._renew())
        # Shielded: a request that goes away must not cancel the check the others wait for.
        return await asyncio.shield(self._check)

    async def _renew(self) -> bool:
        revocations = self._revocations
        started = self._clock()
        try:
            clear = await self.replay()
        except PyMongoError as error:
            logger.warning("query cache: cannot check for pending invalidations: %s", error)
            clear = False
        if not clear:
            # From when the check ended: one that waited out a MongoDB timeout must not be
            # followed at once by another (each lookup would wait a timeout before its query).
            self._next_check_at = self._clock() + self._interval
            return False
        if revocations != self._revocations:
            return False  # a failure during the check: look again at once
        # From when the check began: a write committed after that may not have been seen.
        self._serve_until = started + self._interval
        return True

    async def replay(self) -> bool:
        """Apply every recorded invalidation to Redis and delete its record; True when none is
        left. Raises PyMongoError when MongoDB cannot be read."""
        for _ in range(_REPLAY_ROUNDS):
            records = await pending_invalidations(_REPLAY_BATCH)
            if not records:
                return True
            tags = {tag for record in records for tag in record.tags}
            if len(tags) > _REPLAY_MAX_TAGS:
                tags = {CATALOG_TAG}
            if not await self._apply(tags, "replay"):
                return False
            await forget_invalidations(stored_id(record) for record in records)
            logger.info("query cache: applied %d pending invalidations", len(records))
        return False  # more are being written than applied; the next check goes on
