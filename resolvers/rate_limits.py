"""Abuse limits on sign-in and recovery, kept in Redis by the `limits` library.

Each action has limits per scope: per account (the email address, together with the client's IP)
and per IP. Over a limit, the operation fails with RATE_LIMITED and `retryAfter`. When Redis is
unreachable the limits fail open: a cache outage must not lock every customer out.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from documents.errors import RateLimitedError

logger = logging.getLogger(__name__)


class RateLimiter:
    """Counts attempts per action and scope; `check` raises `RateLimitedError` past a limit."""

    def __init__(
        self, redis_url: str, *, key_prefix: str, limits: dict[str, str], enabled: bool = True
    ) -> None:
        self._storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            key_prefix=f"{key_prefix}limits",
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
        )
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._limits: dict[str, RateLimitItem] = {
            name: parse(value) for name, value in limits.items()
        }
        self.enabled = enabled

    async def check(self, action: str, *, ip: str, account: str | None = None) -> None:
        """Record one attempt at `action`; refuse it when any of its limits is used up."""
        if not self.enabled:
            return
        scopes = [("ip", ip)] + ([("account", f"{account}|{ip}")] if account else [])
        retry_after = 0
        for scope, identity in scopes:
            item = self._limits.get(f"{action}:{scope}")
            if item is None:
                continue
            try:
                if await self._strategy.hit(item, action, scope, identity):
                    continue
                stats = await self._strategy.get_window_stats(item, action, scope, identity)
            except Exception as error:
                logger.warning("rate limit check for %s failed open: %s", action, error)
                return
            retry_after = max(retry_after, math.ceil(stats.reset_time - time.time()), 1)
        if retry_after:
            raise RateLimitedError(retry_after)
