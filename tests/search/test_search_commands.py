"""The commands that write the search index: `worker --once` brings it up to date, and
`search-rebuild` rebuilds it by itself when no process writes it, through the worker's follower
when one does."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette

from integrations.search.engine import SearchRequest
from integrations.search.tantivy_engine import TantivySearch
from resolvers.search_index import SearchIndexFollower
from server.search import search_follower
from settings import Settings
from tests.factories import make_category, make_product
from tests.support import run_server_command


def command_environment(settings: Settings, index: Path) -> dict[str, str]:
    return {
        "MONGODB_URI": settings.mongodb_uri or "",
        "MONGODB_DATABASE": settings.mongodb_database,
        "SEARCH_INDEX_DIR": str(index),
    }


async def found_in(index: Path, text: str) -> list[str]:
    reader = await TantivySearch.open(index)
    try:
        page = await reader.search(SearchRequest(text=text))
    finally:
        await reader.close()
    return [hit.id for hit in page.hits]


async def test_a_one_off_worker_builds_the_index_then_brings_it_up_to_date(
    tmp_path: Path, app: Starlette, settings: Settings
) -> None:
    audio = await make_category("Audio")
    first = await make_product(audio, name="Wireless Speaker")
    environment = {
        **command_environment(settings, tmp_path / "index"),
        "REDIS_URL": settings.redis_url or "",
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
    }
    built = await asyncio.to_thread(
        run_server_command, tmp_path, "worker", "--once", timeout=120, **environment
    )
    second = await make_product(audio, name="Wireless Radio")
    again = await asyncio.to_thread(
        run_server_command, tmp_path, "worker", "--once", timeout=120, **environment
    )

    assert (built.returncode, again.returncode) == (0, 0), built.stderr + again.stderr
    assert "search index: rebuilt with 1 products" in built.stderr
    assert "rebuilt" not in again.stderr  # resumed from the stored position
    assert sorted(await found_in(tmp_path / "index", "wireless")) == sorted(
        [str(first.id), str(second.id)]
    )


async def test_the_command_builds_the_index_when_no_worker_holds_it(
    tmp_path: Path, app: Starlette, settings: Settings
) -> None:
    product = await make_product(await make_category("Audio"), name="Wireless Speaker")
    index = tmp_path / "index"

    result = await asyncio.to_thread(
        run_server_command,
        tmp_path,
        "search-rebuild",
        timeout=120,
        **command_environment(settings, index),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "search index rebuilt: 1 products" in result.stdout
    assert await found_in(index, "wireless") == [str(product.id)]


async def test_the_command_asks_the_worker_that_holds_the_index(
    tmp_path: Path, app: Starlette, settings: Settings
) -> None:
    await make_product(await make_category("Audio"), name="Wireless Speaker")
    index = tmp_path / "index"
    writer = await TantivySearch.open(index, writable=True)
    follower = SearchIndexFollower(writer, query_cache=app.state.services.query_cache)
    await follower.catch_up()
    await make_product(await make_category("Kitchen"), name="Wireless Kettle")
    stop = asyncio.Event()
    running = asyncio.create_task(follower.run(stop))
    try:
        result = await asyncio.to_thread(
            run_server_command,
            tmp_path,
            "search-rebuild",
            timeout=120,
            **command_environment(settings, index),
        )
    finally:
        stop.set()
        await running
        await writer.close()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "asking it to rebuild" in result.stdout
    assert "search index rebuilt: 2 products" in result.stdout


async def test_the_command_says_there_is_nothing_to_rebuild_without_an_index(
    tmp_path: Path, app: Starlette, settings: Settings
) -> None:
    environment = {**command_environment(settings, tmp_path / "index"), "SEARCH_ENGINE": "mongo"}

    result = await asyncio.to_thread(
        run_server_command, tmp_path, "search-rebuild", timeout=120, **environment
    )

    assert result.returncode == 2
    assert "SEARCH_ENGINE=mongo keeps no index" in result.stderr
    assert not (tmp_path / "index").exists()


async def test_a_second_worker_leaves_the_index_to_the_one_that_writes_it(
    tmp_path: Path, app: Starlette, settings: Settings
) -> None:
    own_index = settings.model_copy(update={"search_index_dir": tmp_path / "index"})
    holder = await TantivySearch.open(tmp_path / "index", writable=True)
    try:
        async with search_follower(own_index, app.state.services.query_cache) as follower:
            assert follower is None
    finally:
        await holder.close()

    async with search_follower(own_index, app.state.services.query_cache) as follower:
        assert follower is not None
