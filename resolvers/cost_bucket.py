"""The leaky bucket of query cost each client draws from, kept in Redis (README, "Query cost").

A client (a signed-in user by id, anyone else by IP address, IPv6 per /64) has a bucket of `size`
points that refills at `restore_rate` points a second. A query takes its requested cost from the
bucket before it runs, or is refused while the bucket holds less; once it has run, the bucket is
settled on its actual cost: what it did not use goes back, and what it used beyond the request
(lists longer than their nominal size) is taken, even into debt. Each draw is one Lua script, so
concurrent queries of one client cannot both spend the same points.

When Redis fails the bucket fails open: the query runs unthrottled (the per-query limit,
MAX_QUERY_COST, still holds), and Redis is left alone for `retry_after_seconds` so that an outage
does not add a timeout to every request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from resolvers.cost_draw import DRAW_FUNCTION, BucketCharge
from resolvers.rate_limits import client_network
from resolvers.redis_breaker import RedisBreaker
from resolvers.redis_clients import REDIS_FAILURES, RedisClient, is_cluster

logger = logging.getLogger(__name__)

# KEYS[1]: the bucket; ARGV: size, restore rate per second, now (seconds), cost (negative: a
# refund), 1 to take the cost whatever the bucket holds (settling a query that ran), and what to
# take instead of the cost once allowed (optional).
_DRAW = (
    DRAW_FUNCTION
    + """
local cost = tonumber(ARGV[4])
return draw(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), cost,
            ARGV[5] == '1', tonumber(ARGV[6]) or cost)
"""
)


@dataclass(frozen=True)
class ThrottleStatus:
    """A client's bucket after a draw, as `extensions.cost.throttleStatus` reports it."""

    maximum_available: float
    currently_available: float
    restore_rate: float


@dataclass(frozen=True)
class Draw:
    """The outcome of taking a query's cost: `status` is None when the bucket was not consulted
    (throttling off, or Redis unavailable)."""

    allowed: bool
    status: ThrottleStatus | None = None
    retry_after: int = 0


def throttle_client(user_id: object | None, ip: str) -> str:
    """Whose bucket a request draws from: the signed-in user's, else its address's."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"ip:{client_network(ip)}"


class QueryCostBucket:
    """One per process: draws query costs from per-client buckets in Redis."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        key_prefix: str,
        size: int,
        restore_rate: float,
        enabled: bool = True,
        retry_after_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}cost:"
        self.size = size
        self.restore_rate = restore_rate
        self.enabled = enabled
        self._clock = clock
        self._breaker = RedisBreaker(retry_after_seconds=retry_after_seconds, clock=clock)
        self._script = redis.register_script(_DRAW)

    async def take(self, client: str, cost: int) -> Draw:
        """Take `cost` points from `client`'s bucket; refused (with the seconds until the bucket
        holds enough) while it holds fewer."""
        answer = await self._draw(client, cost)
        if answer is None:
            return Draw(allowed=True)
        return self.outcome(cost, *answer)

    async def take_cached(self, client: str, requested: int, actual: int) -> Draw:
        """For an answer served from the cache: refused as `take(requested)` would be, else
        charged `actual`, as a query that ran is once settled."""
        answer = await self._draw(client, requested, charge=actual)
        if answer is None:
            return Draw(allowed=True)
        return self.outcome(requested, *answer)

    def outcome(self, cost: int, taken: bool, available: float) -> Draw:
        """The draw a script's `{taken, available}` answer stands for."""
        status = self._status(available)
        if taken:
            return Draw(allowed=True, status=status)
        # A bucket in debt shows 0; the wait counts the debt.
        retry_after = max(math.ceil((cost - available) / self.restore_rate), 1)
        return Draw(allowed=False, status=status, retry_after=retry_after)

    def charge_for(self, client: str) -> BucketCharge | None:
        """How another script on the same Redis (`uses`) draws from `client`'s bucket; None
        when nothing is to be drawn: throttling is off, or the bucket is failing open."""
        if not self.enabled or not self._breaker.closed:
            return None
        arguments = (str(self.size), str(self.restore_rate), repr(self._clock()))
        return BucketCharge(key=f"{self._prefix}{client}", arguments=arguments)

    def uses(self, redis: RedisClient) -> bool:
        """Whether the buckets live on `redis` (the same client), so that a script there can draw.
        Never on a cluster: a bucket's key hashes to a slot of its own."""
        return self._redis is redis and not is_cluster(redis)

    async def settle(self, client: str, difference: int) -> ThrottleStatus | None:
        """Settle a query that ran on its actual cost: `difference` (actual minus requested) is
        taken, or given back when negative; the bucket never holds more than `size`."""
        answer = await self._draw(client, difference, settling=True)
        return None if answer is None else self._status(answer[1])

    def _status(self, available: float) -> ThrottleStatus:
        return ThrottleStatus(
            maximum_available=float(self.size),
            currently_available=max(math.floor(available * 10) / 10, 0.0),
            restore_rate=float(self.restore_rate),
        )

    async def _draw(
        self, client: str, cost: int, *, settling: bool = False, charge: int | None = None
    ) -> tuple[bool, float] | None:
        if not self.enabled:
            return None
        if not self._breaker.closed:
            return None
        now = self._clock()
        arguments: list[str | int | float] = [
            self.size,
            self.restore_rate,
            repr(now),
            cost,
            int(settling),
        ]
        if charge is not None:
            arguments.append(charge)
        try:
            taken, available = await self._script(
                keys=[f"{self._prefix}{client}"],
                args=arguments,
            )
        except REDIS_FAILURES as error:
            self._breaker.failed(error)
            logger.warning(
                "query cost bucket failed open for %.0fs (MAX_QUERY_COST still applies): %s",
                self._breaker.retry_after,
                error,
            )
            return None
        return bool(taken), float(available)
