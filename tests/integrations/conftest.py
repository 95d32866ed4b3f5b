"""The Tantivy search engine's tests share one index of the small catalog per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integrations.search.tantivy_engine import TantivySearch
from tests.integrations.tantivy_catalog import CATALOG


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[TantivySearch]:
    """The writer of an index in `tmp_path / "index"` with the small catalog committed."""
    search = await TantivySearch.open(tmp_path / "index", writable=True)
    # Against the ids' order, in two segments: index order must not pass for id order.
    await search.upsert(CATALOG[:3:-1])
    await search.commit(None)
    await search.upsert(CATALOG[3::-1])
    await search.commit("resume-1")
    yield search
    await search.close()
