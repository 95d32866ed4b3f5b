"""The breaker the query cache, persisted queries and cost buckets share."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from resolvers.redis_breaker import RedisBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_refused_connection_opens_it_until_the_retry_time() -> None:
    clock = Clock()
    breaker = RedisBreaker(retry_after_seconds=5, clock=clock, timeouts_before_opening=3)

    assert breaker.failed(RedisConnectionError("refused"))
    assert not breaker.closed
    clock.now += 4.9
    assert not breaker.closed
    clock.now += 0.1
    assert breaker.closed


def test_only_a_run_of_timeouts_opens_it() -> None:
    clock = Clock()
    breaker = RedisBreaker(retry_after_seconds=5, clock=clock, timeouts_before_opening=3)
    wrapped = ConnectionError("no connection in time")
    wrapped.__cause__ = TimeoutError()

    assert not breaker.failed(RedisTimeoutError())
    assert not breaker.failed(wrapped)  # a pool's wait, reported by another layer
    breaker.succeeded()  # a success ends the run
    assert not breaker.failed(RedisTimeoutError())
    assert not breaker.failed(RedisTimeoutError())
    assert breaker.closed

    assert breaker.failed(RedisTimeoutError())
    assert not breaker.closed


def test_by_default_any_failure_opens_it() -> None:
    breaker = RedisBreaker(retry_after_seconds=5, clock=Clock())

    assert breaker.failed(RedisTimeoutError())
    assert not breaker.closed
