"""Abuse limits on sign-in, recovery and writes, kept in Redis by the `limits` library.

Each action has limits per scope: `account_ip` (one account from one client), `account` (one
account from anywhere: a guesser with many addresses), `ip` (one client, any account) and
`device` (one device that signed in to the account before: `resolvers.accounts.devices`). A
sign-in from such a device is counted per device instead of per account, so a guesser who uses
up an account's limits does not lock its owner out. IPv6 clients count per /64 network, since
one host usually holds a whole /64. Over a limit the operation fails with RATE_LIMITED and
`retryAfter`.

When Redis cannot answer (down, too slow, no free pooled connection in time), the actions in
`CREDENTIAL_ACTIONS` fail closed: they are refused with RATE_LIMITED and a short `retryAfter`,
since letting them through would let a guesser try secrets without limit exactly when Redis is
overloaded. Every other action fails open: a cache outage must not stop shopping.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from documents.errors import RateLimitedError
from resolvers.metrics import count_rate_limit_refusal

logger = logging.getLogger(__name__)

# Actions that check a secret someone could guess (a password, an emailed code, the admin
# sign-up key) or hand out a new one to guess at (a reset code): refused when undecided.
CREDENTIAL_ACTIONS = frozenset(
    {
        "login",
        "change_password",
        "request_password_reset",
        "verify_password_reset_otp",
        "admin_signup",
    }
)
# The `retryAfter` of a credential action refused because the limiter could not decide.
UNDECIDED_RETRY_AFTER_SECONDS = 5


class RateLimiter:
    """Counts attempts per action and scope; `check` raises `RateLimitedError` past a limit.

    It talks to Redis through `pool` (a `BlockingConnectionPool`, so that a burst waits for a
    free connection, up to the pool's timeout, instead of failing), and closes it in `close`; or,
    with `cluster_url` (a node of a Redis Cluster) instead, through a cluster client of its own,
    made with `cluster_options`. Each limit is one key, so any slot will do.
    """

    def __init__(
        self,
        pool: ConnectionPool | None,
        *,
        key_prefix: str,
        limits: dict[str, str],
        enabled: bool = True,
        cluster_url: str | None = None,
        cluster_options: dict[str, Any] | None = None,
    ) -> None:
        self._pool = pool
        self._storage: RedisStorage
        if cluster_url is not None:
            self._storage = RedisClusterStorage(
                _limits_cluster_uri(cluster_url),
                implementation="redispy",
                key_prefix=f"{key_prefix}limits",
                **(cluster_options or {}),
                **({"ssl": True} if cluster_url.startswith("rediss://") else {}),
            )
        else:
            assert pool is not None, "a pool, or a cluster's URL"
            self._storage = RedisStorage(
                "async+redis://",  # the scheme picks the bridge; the pool says where Redis is
                implementation="redispy",
                key_prefix=f"{key_prefix}limits",
                connection_pool=pool,  # type: ignore[arg-type]  # passed on to redis-py's client
            )
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._limits: dict[str, RateLimitItem] = {
            name: parse(value) for name, value in limits.items()
        }
        self.enabled = enabled

    @property
    def connection_pool(self) -> ConnectionPool | None:
        """The pool the limits talk to Redis through (its use is a metric); None on a cluster."""
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            return
        # The cluster client `limits` made (it offers no way to close it).
        await self._storage.bridge.storage.aclose()  # type: ignore[attr-defined]

    async def check(
        self, action: str, *, ip: str, account: str | None = None, device: str | None = None
    ) -> None:
        """Record one attempt at `action`; refuse it when any of its limits is used up.

        `device` names a device that the caller has verified signed in to `account` before:
        the attempt then counts against that device's own limit (`<action>:device`) instead of
        the account's. Without a `<action>:device` limit configured, `device` is ignored.
        """
        if not self.enabled:
            return
        retry_after = 0
        for scope, raw_identity in self._scopes(action, ip=ip, account=account, device=device):
            item = self._limits.get(f"{action}:{scope}")
            if item is None:
                continue
            # Fixed-size keys, whatever a client sends as an email address.
            identity = hashlib.sha256(raw_identity.encode()).hexdigest()[:32]
            try:
                allowed = await self._strategy.hit(item, action, scope, identity)
            except Exception as error:
                if action in CREDENTIAL_ACTIONS:
                    logger.warning("rate limit check for %s failed closed: %s", action, error)
                    count_rate_limit_refusal(action, "undecided")
                    raise RateLimitedError(UNDECIDED_RETRY_AFTER_SECONDS) from None
                logger.warning("rate limit check for %s failed open: %s", action, error)
                return
            if not allowed:
                retry_after = max(
                    retry_after, await self._seconds_until_free(item, scope, action, identity)
                )
        if retry_after:
            count_rate_limit_refusal(action, "limit")
            raise RateLimitedError(retry_after)

    def _scopes(
        self, action: str, *, ip: str, account: str | None, device: str | None
    ) -> list[tuple[str, str]]:
        client = client_network(ip)
        scopes = [("ip", client)]
        if account is None:
            return scopes
        if device is not None and f"{action}:device" in self._limits:
            return [*scopes, ("device", f"{account}|{device}")]
        return [*scopes, ("account", account), ("account_ip", f"{account}|{client}")]

    async def _seconds_until_free(
        self, item: RateLimitItem, scope: str, action: str, identity: str
    ) -> int:
        try:
            stats = await self._strategy.get_window_stats(item, action, scope, identity)
        except Exception as error:
            # The attempt is refused either way; only the wait is unknown: say the window.
            logger.warning("rate limit window of %s unknown: %s", action, error)
            return int(item.get_expiry())
        return max(math.ceil(stats.reset_time - time.time()), 1)


def _limits_cluster_uri(url: str) -> str:
    """A Redis URL (`redis://[user:password@]host:port`) as `limits` names a cluster."""
    scheme, _, rest = url.partition("://")
    if scheme not in ("redis", "rediss"):
        raise ValueError(
            f"a Redis Cluster node's URL starts with redis:// or rediss://, not {url!r}"
        )
    return f"async+redis+cluster://{rest.split('/', 1)[0]}"


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
