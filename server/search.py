"""The search index's writer in the server's processes: the worker's follower, and the
`search-rebuild` command (README, "Search")."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from integrations.search.engine import SearchEngine
from integrations.search.tantivy_engine import SearchIndexLockedError, TantivySearch
from resolvers.query_cache import QueryCache
from resolvers.search_index import SearchIndexFollower, request_rebuild
from settings import SearchEngineName, Settings

logger = logging.getLogger("commerce")


def search_reader(settings: Settings) -> SearchEngine | None:
    """What the API's processes search with: a reader of the index (opened at its first
    search), or None when SEARCH_ENGINE=mongo."""
    if settings.search_engine is not SearchEngineName.TANTIVY:
        return None
    return TantivySearch.reader(settings.search_index_path)


async def open_search_writer(settings: Settings) -> SearchEngine:
    """The index under SEARCH_INDEX_DIR, opened to write: one process at a time holds it
    (SearchIndexLockedError for the others)."""
    return await TantivySearch.open(settings.search_index_path, writable=True)


@contextlib.asynccontextmanager
async def search_follower(
    settings: Settings, query_cache: QueryCache
) -> AsyncIterator[SearchIndexFollower | None]:
    """The follower that keeps the search index, for the worker; None when SEARCH_ENGINE keeps
    no index, or another process (another worker) writes it."""
    if settings.search_engine is not SearchEngineName.TANTIVY:
        yield None
        return
    try:
        engine = await open_search_writer(settings)
    except SearchIndexLockedError:
        logger.warning(
            "search index: another process writes %s; this worker leaves it to that one",
            settings.search_index_path,
        )
        yield None
        return
    try:
        yield SearchIndexFollower(
            engine,
            query_cache=query_cache,
            commit_interval_seconds=settings.search_commit_interval,
        )
    finally:
        await engine.close()


async def rebuild_search_index(settings: Settings) -> int:
    """Build the index again from the products, here when no other process writes it, else by
    the worker that does (asked through MongoDB); how many products it holds. For a process
    whose documents are bound to MongoDB."""
    try:
        engine = await open_search_writer(settings)
    except SearchIndexLockedError:
        print("The worker writes the search index: asking it to rebuild it, and waiting ...")
        return await request_rebuild()
    try:
        # Without a query cache of its own: the invalidation is recorded in MongoDB, and the
        # API's processes apply it before they serve cached answers again.
        return await SearchIndexFollower(engine).rebuild()
    finally:
        await engine.close()
