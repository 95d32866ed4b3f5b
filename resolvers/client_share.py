"""Each client's share of what it may add to Redis per minute: query cache entries, persisted
queries. Past its share a client is still served; what it sent is just not stored, so one client
cannot fill the memory everyone else's entries live in."""

from __future__ import annotations

import hashlib
import logging

from resolvers.redis_clients import RedisClient

logger = logging.getLogger(__name__)

# How long a client's count lasts before it starts again from zero.
CLIENT_WINDOW_SECONDS = 60


class ClientShare:
    """Counts what each client adds in the current window, under `{key_prefix}{client digest}`.

    Redis errors reach the caller, which decides what a failed count means (both callers skip
    Redis for a while)."""

    def __init__(self, redis: RedisClient, *, key_prefix: str, per_minute: int, what: str) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._per_minute = per_minute
        self._what = what

    def key(self, client: str) -> str:
        # Fixed-size keys, whatever a client is called.
        return f"{self._prefix}{hashlib.sha256(client.encode()).hexdigest()[:32]}"

    async def take(self, client: str) -> bool:
        """Count one more for `client`; False once it is past its share of this window."""
        key = self.key(client)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(key, 0, ex=CLIENT_WINDOW_SECONDS, nx=True)
            pipe.incr(key)
            _, added = await pipe.execute()
        if added == self._per_minute + 1:
            logger.info(
                "client %s added its share of %s this minute; storing no more", client, self._what
            )
        return int(added) <= self._per_minute
