"""The Tantivy engine's index: writes, commits, readers, the resume point, the writer lock and
schema versions."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from integrations.search import tantivy_schema
from integrations.search.engine import (
    SearchEngineUnavailableError,
    SearchRequest,
)
from integrations.search.tantivy_engine import IndexFound, SearchIndexLockedError, TantivySearch
from tests.integrations.tantivy_catalog import (
    AUDIO,
    CATALOG,
    SPEAKERS,
    found,
    product,
)


async def test_upsert_replaces_and_delete_removes(engine: TantivySearch) -> None:
    renamed = dataclasses.replace(CATALOG[1], name="Silent Mouse")
    await engine.upsert([renamed])
    await engine.delete([CATALOG[0].id])
    assert sorted(await found(engine, "wireless")) == [1, 2, 5]  # not committed: unchanged

    await engine.commit(None)

    assert await found(engine, "wireless") == [5]  # the speaker's description
    assert await found(engine, "silent") == [2]


async def test_clear_then_upserts_replace_everything_at_the_commit(
    engine: TantivySearch, tmp_path: Path
) -> None:
    reader = await TantivySearch.open(tmp_path / "index")
    await engine.clear()
    await engine.upsert(CATALOG[:2])

    assert len(await found(reader, "")) == len(CATALOG)  # the old index until the commit

    await engine.commit("resume-2")

    assert sorted(await found(reader, "")) == [1, 2]
    assert await engine.resume_point() == "resume-2"


async def test_a_reader_sees_a_commit_from_its_next_request(
    engine: TantivySearch, tmp_path: Path
) -> None:
    reader = await TantivySearch.open(tmp_path / "index")
    assert await found(reader, "speaker") == [5]

    await engine.upsert([product(30, "Tower Speaker", "Acme", AUDIO, SPEAKERS, 1, True, 1, "")])
    assert await found(reader, "speaker") == [5]
    await engine.commit(None)

    assert sorted(await found(reader, "speaker")) == [5, 30]


async def test_the_resume_point_is_kept_with_the_index(
    engine: TantivySearch, tmp_path: Path
) -> None:
    await engine.commit("resume-9")
    await engine.close()

    reopened = await TantivySearch.open(tmp_path / "index", writable=True)
    try:
        assert reopened.found is IndexFound.CURRENT
        assert await reopened.resume_point() == "resume-9"
        assert len(await found(reopened, "")) == len(CATALOG)
    finally:
        await reopened.close()


async def test_one_writer_at_a_time(engine: TantivySearch, tmp_path: Path) -> None:
    with pytest.raises(SearchIndexLockedError):
        await TantivySearch.open(tmp_path / "index", writable=True)


async def test_no_index_yet(tmp_path: Path) -> None:
    reader = await TantivySearch.open(tmp_path / "index")
    with pytest.raises(SearchEngineUnavailableError):
        await reader.search(SearchRequest("mouse"))

    writer = await TantivySearch.open(tmp_path / "index", writable=True)
    try:
        assert writer.found is IndexFound.MISSING
        assert await writer.resume_point() is None
        with pytest.raises(SearchEngineUnavailableError):  # created, not built yet
            await reader.search(SearchRequest("mouse"))
    finally:
        await writer.close()


async def test_an_index_of_another_schema_version_is_reported_and_replaced(
    engine: TantivySearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await engine.close()
    monkeypatch.setattr(tantivy_schema, "SCHEMA_VERSION", tantivy_schema.SCHEMA_VERSION + 1)

    writer = await TantivySearch.open(tmp_path / "index", writable=True)
    try:
        assert writer.found is IndexFound.OTHER_SCHEMA
        assert await writer.resume_point() is None
        await writer.upsert(CATALOG[:1])
        await writer.commit("rebuilt")

        assert writer.found is IndexFound.CURRENT
        assert await writer.resume_point() == "rebuilt"
        assert await found(writer, "") == [1]
        assert sorted(p.name for p in (tmp_path / "index").iterdir()) == [
            f"v{tantivy_schema.SCHEMA_VERSION}"
        ]
    finally:
        await writer.close()


async def test_ids_must_be_object_ids(engine: TantivySearch) -> None:
    with pytest.raises(ValueError, match="ObjectId"):
        await engine.upsert([CATALOG[0], dataclasses.replace(CATALOG[1], id="not-an-id")])
    await engine.commit(None)

    assert len(await found(engine, "")) == len(CATALOG)


async def test_searches_beside_a_commit_see_the_index_before_or_after_it(
    engine: TantivySearch, tmp_path: Path
) -> None:
    reader = await TantivySearch.open(tmp_path / "index")
    speakers = [
        product(200 + n, f"Shelf Speaker {n}", "Acme", AUDIO, SPEAKERS, 999, True, 4.0, "")
        for n in range(40)
    ]
    await engine.upsert(speakers)

    async def count_speakers() -> int:
        page = await reader.search(SearchRequest("speaker", limit=1, with_total=True))
        assert page.total is not None
        return page.total

    counts = await asyncio.gather(
        *[count_speakers() for _ in range(10)],
        engine.commit(None),
        *[count_speakers() for _ in range(10)],
    )

    assert {count for count in counts if count is not None} <= {1, 41}
    assert await count_speakers() == 41
