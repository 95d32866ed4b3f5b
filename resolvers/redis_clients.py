"""The Redis clients the request helpers take: one server (`Redis`), or a Redis Cluster
(`RedisCluster`, REDIS_CLUSTER; README, "Scale-out").

On a cluster each key lives in one of 16,384 slots, and a script, a transaction or a multi-key
command may only touch keys of one slot. A hash tag, the part of a key between `{` and `}`, is
all that is hashed, so keys that share one share a slot (and so a node)."""

from __future__ import annotations

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException, RedisError

RedisClient = Redis | RedisCluster

# What a Redis that cannot answer raises: a cluster client that reaches none of the nodes (or
# finds slots no node serves) raises RedisClusterException, which is no RedisError.
REDIS_FAILURES = (RedisError, OSError, RedisClusterException)


def is_cluster(client: RedisClient) -> bool:
    return isinstance(client, RedisCluster)


def slot_prefix(prefix: str, client: RedisClient) -> str:
    """`prefix` (ending in ':') for keys touched together: on a cluster the whole prefix is a
    hash tag, so every key under it hashes to one slot; on one server it is left as it is."""
    return f"{{{prefix.removesuffix(':')}}}:" if is_cluster(client) else prefix
