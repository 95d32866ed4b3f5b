"""A loader's callers share one load per key: cancelling one caller leaves the load to the others."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from loaders.cancellation import CancellationSafeLoader


class HeldLoader(CancellationSafeLoader):
    """Answers each key with its double once `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.batches: list[list[int]] = []

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        self.batches.append(list(keys))
        self.started.set()
        await self.release.wait()
        return [key * 2 for key in keys]


async def test_a_cancelled_caller_does_not_cancel_the_load_for_the_others() -> None:
    loader = HeldLoader()
    cancelled = asyncio.ensure_future(loader.load(21))
    waiting = asyncio.ensure_future(loader.load(21))
    await loader.started.wait()

    cancelled.cancel()
    loader.release.set()

    assert await waiting == 42
    assert cancelled.cancelled()
    assert await loader.load(21) == 42
    assert loader.batches == [[21]]


class FailingLoader(CancellationSafeLoader):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        raise LookupError("gone")


async def test_a_key_reads_as_loaded_only_once_its_load_has_finished() -> None:
    loader = HeldLoader()
    assert loader.loaded(21) == (False, None)

    pending = asyncio.ensure_future(loader.load(21))
    await loader.started.wait()
    assert loader.loaded(21) == (False, None)  # in flight

    loader.release.set()
    assert await pending == 42
    assert loader.loaded(21) == (True, 42)
    assert loader.loaded(22) == (False, None)


async def test_a_failed_load_does_not_read_as_loaded() -> None:
    loader = FailingLoader()
    with pytest.raises(LookupError):
        await loader.load(1)

    assert loader.loaded(1) == (False, None)
