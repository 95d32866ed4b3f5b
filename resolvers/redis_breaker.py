"""The circuit breaker every Redis-backed helper of a request uses (query cache, persisted
queries, query-cost buckets): after a failure the process leaves Redis alone for a while, so
requests do not each pay a timeout against a server that is down."""

from __future__ import annotations

from collections.abc import Callable

from redis.exceptions import TimeoutError as RedisTimeoutError


def is_timeout(error: BaseException) -> bool:
    """A timeout, whichever layer reports it: the socket, or the wait for a pooled connection."""
    timeouts = (RedisTimeoutError, TimeoutError)
    return isinstance(error, timeouts) or isinstance(error.__cause__, timeouts)


class RedisBreaker:
    """Open (Redis skipped) for `retry_after_seconds` after a failure. A refused connection opens
    it at once; with `timeouts_before_opening` above 1, a timeout, which may be only a busy
    moment, opens it only as the last of a run of that many."""

    def __init__(
        self,
        *,
        retry_after_seconds: float,
        clock: Callable[[], float],
        timeouts_before_opening: int = 1,
    ) -> None:
        self.retry_after = retry_after_seconds
        self._clock = clock
        self._timeouts_before_opening = timeouts_before_opening
        self._consecutive_timeouts = 0
        self._open_until = 0.0

    @property
    def closed(self) -> bool:
        """Whether Redis may be asked now."""
        return self._clock() >= self._open_until

    def succeeded(self) -> None:
        self._consecutive_timeouts = 0

    def failed(self, error: BaseException) -> bool:
        """Record a failure; True when it opened the breaker."""
        if is_timeout(error):
            self._consecutive_timeouts += 1
            if self._consecutive_timeouts < self._timeouts_before_opening:
                return False
        self._consecutive_timeouts = 0
        self._open_until = self._clock() + self.retry_after
        return True
