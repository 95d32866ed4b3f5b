"""Garbage collection for a serving worker.

CPython's full collection walks every tracked object. After start-up a worker holds about 180,000
of them (modules, the schema, Beanie's models) that live as long as the process, and under load
the objects of requests in flight keep being promoted to the oldest generation, so a full
collection came every few seconds and walked the start-up heap again: a pause every request
waiting at that moment sat through (README, "Performance"). Freezing the start-up heap once the
worker is ready takes it out of every later collection (`gc.freeze`: it is never freed, as it
would not be anyway), and a larger youngest generation lets requests finish before their objects
are collected at all: almost all of them are freed by reference counting.
"""

from __future__ import annotations

import gc

# Allocations, less deallocations, between two collections of the youngest generation
# (CPython's default is 700; a cached hit allocates a few hundred objects and frees them).
YOUNGEST_THRESHOLD = 20_000


def settle_heap() -> None:
    """Collect what start-up left behind, freeze the rest out of later collections, and collect
    the youngest generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_THRESHOLD, middle, oldest)
