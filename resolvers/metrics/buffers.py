"""Counts and observations kept in the process and written to prometheus-client's values in
batches (`flush`), once a second by default.

Writing a value is cheap in one process, but with several workers each write goes to a
memory-mapped file: about a microsecond, and a request makes six. Adding to a Python integer
instead keeps a request's metrics to about one microsecond; the batch is written by the
worker's upkeep task, before a scrape it answers, and when it stops. Rare events (refusals, pool
events) are written at once.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram


class Dirty:
    """The buffers holding what was not written yet."""

    def __init__(self) -> None:
        self.buffers: list[BufferedCounter | BufferedHistogram] = []

    def flush(self) -> None:
        buffers, self.buffers = self.buffers, []
        for buffer in buffers:
            buffer.flush()


class BufferedCounter:
    """A counter child's increments, written by `flush`."""

    __slots__ = ("_child", "_dirty", "_pending")

    def __init__(self, child: Counter, dirty: Dirty) -> None:
        self._child = child
        self._dirty = dirty
        self._pending = 0

    def inc(self) -> None:
        if not self._pending:
            self._dirty.buffers.append(self)
        self._pending += 1

    def flush(self) -> None:
        pending, self._pending = self._pending, 0
        if pending:
            self._child.inc(pending)


class BufferedHistogram:
    """A histogram child's observations: per-bucket counts and their sum, written by `flush`.

    prometheus-client takes observations one at a time only; its child keeps (non-cumulative)
    bucket counts and the sum as values of its own (`_buckets`, `_sum`), which `flush` adds to.
    `supports(child)` checks they are there, as this version of the library has them.
    """

    __slots__ = ("_bounds", "_child", "_counts", "_dirty", "_observed", "_sum")

    def __init__(self, child: Histogram, dirty: Dirty) -> None:
        self._child: Any = child
        self._dirty = dirty
        self._bounds = tuple(self._child._upper_bounds)
        self._counts = [0] * len(self._bounds)
        self._observed = 0
        self._sum = 0.0

    @staticmethod
    def supports(child: Histogram) -> bool:
        own: Any = child
        buckets = getattr(own, "_buckets", None)
        bounds = getattr(own, "_upper_bounds", None)
        return (
            isinstance(buckets, list)
            and isinstance(bounds, list)
            and len(buckets) == len(bounds)
            and all(hasattr(value, "inc") for value in [*buckets, getattr(own, "_sum", None)])
        )

    def observe(self, amount: float) -> None:
        if not self._observed:
            self._dirty.buffers.append(self)
        self._observed += 1
        # The first bucket whose upper bound is at least `amount`, as the library's observe.
        self._counts[bisect_left(self._bounds, amount)] += 1
        self._sum += amount

    def flush(self) -> None:
        if not self._observed:
            return
        counts, total = self._counts, self._sum
        self._counts, self._observed, self._sum = [0] * len(self._bounds), 0, 0.0
        for index, count in enumerate(counts):
            if count:
                self._child._buckets[index].inc(count)
        self._child._sum.inc(total)
