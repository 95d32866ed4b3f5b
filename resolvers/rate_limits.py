"""Abuse limits on sign-in and recovery, kept in Redis by the `limits` library.

Each action has limits per scope: `account_ip` (one account from one client), `account` (one
account from anywhere: a guesser with many addresses) and `ip` (one client, any account). IPv6
clients count per /64 network, since one host usually holds a whole /64. Over a limit the
operation fails with RATE_LIMITED and `retryAfter`. When Redis is unreachable the limits fail open:
a cache outage must not lock every customer out.
"""

from __future__ import annotations

import hashlib
import ipaddress
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
        client = client_network(ip)
        scopes = [("ip", client)]
        if account:
            scopes += [("account", account), ("account_ip", f"{account}|{client}")]
        retry_after = 0
        for scope, raw_identity in scopes:
            # Fixed-size keys, whatever a client sends as an email address.
            identity = hashlib.sha256(raw_identity.encode()).hexdigest()[:32]
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


def client_network(ip: str) -> str:
    """The unit a client is counted by: its IPv4 address, or its IPv6 /64 network."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
