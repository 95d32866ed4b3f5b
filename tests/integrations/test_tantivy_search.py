"""The Tantivy search engine against a real index in a temporary directory (no servers)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrations.search import tantivy_paging, tantivy_schema
from integrations.search.engine import (
    FacetCount,
    Position,
    PriceBand,
    SearchDocument,
    SearchEngineUnavailableError,
    SearchFilters,
    SearchOrder,
    SearchRequest,
    SearchTooDeepError,
    Suggestion,
    SuggestionKind,
)
from integrations.search.tantivy_engine import IndexFound, SearchIndexLockedError, TantivySearch

AUDIO, COMPUTERS = "a0" * 12, "c0" * 12
HEADPHONES, ACCESSORIES, SPEAKERS = "a1" * 12, "a2" * 12, "a3" * 12
MICE, KEYBOARDS, CABLES = "c1" * 12, "c2" * 12, "c3" * 12
CATEGORY_NAMES = {
    AUDIO: "Audio",
    COMPUTERS: "Computers",
    HEADPHONES: "Headphones",
    ACCESSORIES: "Accessories",
    SPEAKERS: "Speakers",
    MICE: "Mice",
    KEYBOARDS: "Keyboards",
    CABLES: "Cables",
}
START = datetime(2024, 1, 1, tzinfo=UTC)


def product(
    number: int,
    name: str,
    brand: str,
    category: str,
    subcategory: str,
    price: int,
    in_stock: bool,
    rating: float,
    description: str,
) -> SearchDocument:
    return SearchDocument(
        id=f"{number:024x}",
        name=name,
        description=description,
        brand=brand,
        category_id=category,
        subcategory_id=subcategory,
        category_names=(CATEGORY_NAMES[category], CATEGORY_NAMES[subcategory]),
        final_price=price,
        in_stock=in_stock,
        rating_average=rating,
        created_at=START + timedelta(days=number % 3),  # runs of three equal dates
    )


CATALOG = [
    product(1, "Wireless Headphones", "Sony", AUDIO, HEADPHONES, 9999, True, 4.5,
            "Over-ear headphones with noise cancelling"),
    product(2, "Wireless Mouse", "Logitech", COMPUTERS, MICE, 1999, True, 4.0, "A quiet mouse"),
    product(3, "Wired Headphones Pro", "Sony", AUDIO, HEADPHONES, 4999, False, 3.5,
            "Studio headphones"),
    product(4, "Headphone Stand", "Acme", AUDIO, ACCESSORIES, 1999, True, 2.0,
            "Holds your headphones"),
    product(5, "Bluetooth Speaker", "Sony", AUDIO, SPEAKERS, 4999, True, 4.5,
            "Pairs with wireless headphones too"),
    product(6, "Mechanical Keyboard", "Logitech", COMPUTERS, KEYBOARDS, 7999, True, 4.0,
            "Tactile switches"),
    product(7, "Gaming Headset", "Razer", AUDIO, HEADPHONES, 7999, True, 0.0,
            "Surround sound for games"),
    product(8, "USB-C Cable", "Acme", COMPUTERS, CABLES, 499, True, 3.0, "Braided cable, 2 m"),
]  # fmt: skip
BY_ID = {document.id: document for document in CATALOG}


def number(id_: str) -> int:
    return int(id_, 16)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[TantivySearch]:
    search = await TantivySearch.open(tmp_path / "index", writable=True)
    # Against the ids' order, in two segments: index order must not pass for id order.
    await search.upsert(CATALOG[:3:-1])
    await search.commit(None)
    await search.upsert(CATALOG[3::-1])
    await search.commit("resume-1")
    yield search
    await search.close()


async def found(engine: TantivySearch, text: str, **options: object) -> list[int]:
    page = await engine.search(SearchRequest(text, limit=50, **options))  # type: ignore[arg-type]
    return [number(hit.id) for hit in page.hits]


async def test_name_matches_rank_above_category_and_description_matches(
    engine: TantivySearch,
) -> None:
    ids = await found(engine, "headphones")

    # Named headphones (the in-stock, well rated one first), then a headset of the category,
    # then a speaker whose description mentions them.
    assert ids[0] == 1
    assert set(ids[:3]) == {1, 3, 4}
    assert ids[3:] == [7, 5]


async def test_among_equal_matches_a_product_in_stock_comes_first(engine: TantivySearch) -> None:
    twin = dataclasses.replace(BY_ID[f"{2:024x}"], id=f"{9:024x}", in_stock=False)
    await engine.upsert([twin])
    await engine.commit(None)

    assert await found(engine, "mouse") == [2, 9]


async def test_every_word_must_match(engine: TantivySearch) -> None:
    assert await found(engine, "wireless mouse") == [2]
    assert await found(engine, "wireless keyboard") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wireles hedphones", [1]),  # one typo in each word
        ("hedphnes sony", [1, 3]),  # two typos from 8 letters
        ("mosue", [2]),  # a swap of neighbours is one typo
        ("logitch", [2, 6]),  # a typo in a brand
    ],
)
async def test_typos(engine: TantivySearch, text: str, expected: list[int]) -> None:
    assert sorted(await found(engine, text)) == expected


async def test_typos_from_four_letters_on(engine: TantivySearch) -> None:
    assert await found(engine, "mose") == [2]  # four letters: one typo
    assert await found(engine, "mse") == []


async def test_a_word_in_the_index_as_typed_gets_no_typo_matches(engine: TantivySearch) -> None:
    await engine.upsert(
        [
            product(20, "Phone Case", "Acme", AUDIO, ACCESSORIES, 999, True, 4.0, "Slim"),
            product(21, "Cast Iron Pan", "Acme", AUDIO, ACCESSORIES, 999, True, 4.0, "Heavy"),
        ]
    )
    await engine.commit(None)

    assert await found(engine, "case") == [20]
    assert sorted(await found(engine, "cas")) == [20, 21]


async def test_last_word_is_a_prefix(engine: TantivySearch) -> None:
    assert sorted(await found(engine, "wirele")) == [1, 2]
    assert await found(engine, "wireless hea") == [1]
    assert await found(engine, "mech") == [6]
    assert await found(engine, "mech wire") == []  # only the last word


async def test_query_syntax_is_plain_text(engine: TantivySearch) -> None:
    assert sorted(await found(engine, 'headphones AND (sony: "')) == [1, 3, 5]
    assert sorted(await found(engine, "sony:*")) == [1, 3, 5]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(category_id=AUDIO), [1, 3, 4, 5, 7]),
        (SearchFilters(subcategory_id=HEADPHONES), [1, 3, 7]),
        (SearchFilters(brand="Logitech"), [2, 6]),
        (SearchFilters(price_min=1999, price_max=4999), [2, 3, 4, 5]),
        (SearchFilters(price_max=499), [8]),
        (SearchFilters(in_stock=False), [3]),
        (SearchFilters(min_rating=4.0), [1, 2, 5, 6]),
        (SearchFilters(category_id=AUDIO, in_stock=True, price_min=5000), [1, 7]),
    ],
)
async def test_filters(engine: TantivySearch, filters: SearchFilters, expected: list[int]) -> None:
    assert sorted(await found(engine, "", filters=filters)) == expected


async def test_filters_with_text(engine: TantivySearch) -> None:
    filters = SearchFilters(brand="Sony", in_stock=True)
    assert await found(engine, "headphones", filters=filters) == [1, 5]


def expected_order(order: SearchOrder, descending: bool) -> list[int]:
    values = {
        SearchOrder.PRICE: lambda d: d.final_price,
        SearchOrder.CREATED_AT: lambda d: d.created_at,
        SearchOrder.RATING: lambda d: d.rating_average,
    }[order]
    by_id = sorted(CATALOG, key=lambda document: document.id)
    return [number(d.id) for d in sorted(by_id, key=values, reverse=descending)]


async def all_pages(engine: TantivySearch, request: SearchRequest) -> list[int]:
    ids: list[int] = []
    after: Position | None = request.after
    while True:
        page = await engine.search(dataclasses.replace(request, after=after))
        ids += [number(hit.id) for hit in page.hits]
        if not page.has_more:
            return ids
        after = page.hits[-1].position


@pytest.mark.parametrize("order", [SearchOrder.PRICE, SearchOrder.CREATED_AT, SearchOrder.RATING])
@pytest.mark.parametrize("descending", [False, True])
async def test_field_orders_page_without_repeats_or_skips_ties_by_id(
    engine: TantivySearch, order: SearchOrder, descending: bool
) -> None:
    for limit in (1, 2, 3):
        request = SearchRequest("", order=order, descending=descending, limit=limit)
        assert await all_pages(engine, request) == expected_order(order, descending)


async def test_relevance_pages_match_one_long_page(engine: TantivySearch) -> None:
    whole = await found(engine, "audio")

    assert len(whole) == 5
    for limit in (1, 2):
        assert await all_pages(engine, SearchRequest("audio", limit=limit)) == whole


async def test_relevance_ties_are_paged_by_id(
    engine: TantivySearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Equal in everything the score sees (ids that share their low bits), indexed against
    # their ids' order; windows just the page's size, so they cut the run of equal scores.
    monkeypatch.setattr(tantivy_paging, "FIRST_WINDOW_EXTRA", 0)
    twins = [
        dataclasses.replace(
            product(40, "Travel Adapter", "Acme", COMPUTERS, CABLES, 999, True, 4.0, ""),
            id=f"{(n << 16) | 0x1234:024x}",
        )
        for n in range(1, 13)
    ]
    await engine.upsert(twins[::-1])
    await engine.commit(None)

    for limit in (1, 3, 5):
        assert await all_pages(engine, SearchRequest("adapter", limit=limit)) == [
            number(twin.id) for twin in twins
        ]


async def test_pages_stay_put_across_a_commit_of_other_products(engine: TantivySearch) -> None:
    whole = await found(engine, "audio")
    first = await engine.search(SearchRequest("audio", limit=2))
    others = [
        product(100 + n, f"Garden Hose {n}", "Acme", COMPUTERS, CABLES, 100 * n, True, 1.0, "Hose")
        for n in range(50)
    ]
    await engine.upsert(others)
    await engine.commit(None)

    rest = await all_pages(engine, SearchRequest("audio", limit=2, after=first.hits[-1].position))

    assert [number(hit.id) for hit in first.hits] + rest == whole


async def test_total_counts_every_match(engine: TantivySearch) -> None:
    page = await engine.search(SearchRequest("headphones", limit=1, with_total=True))
    assert page.total == 5
    assert len(page.hits) == 1
    assert page.has_more


async def test_too_deep(engine: TantivySearch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tantivy_paging, "MAX_DEPTH", 2)
    monkeypatch.setattr(tantivy_paging, "FIRST_WINDOW_EXTRA", 0)
    fifth = (await engine.search(SearchRequest("", limit=5))).hits[-1].position

    with pytest.raises(SearchTooDeepError):
        await engine.search(SearchRequest("", limit=1, after=fifth))


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


async def test_facets_count_with_every_other_filter(engine: TantivySearch) -> None:
    bands = (PriceBand(0, 5000), PriceBand(5000, None), PriceBand(4999, 5000))
    request = SearchRequest(
        "",
        filters=SearchFilters(brand="Sony", in_stock=True, price_max=5000),
        facet_price_bands=bands,
    )

    page = await engine.search(request)

    assert [number(hit.id) for hit in page.hits] == [5]
    assert page.facets is not None
    # Brands: in stock and up to 5000, any brand.
    assert page.facets.brands == (
        FacetCount("Acme", 2),
        FacetCount("Logitech", 1),
        FacetCount("Sony", 1),
    )
    assert page.facets.categories == (FacetCount(AUDIO, 1),)  # Sony, in stock, up to 5000
    # Prices: Sony and in stock, any price.
    assert page.facets.price_bands == (
        FacetCount("0-5000", 1),
        FacetCount("5000-", 1),
        FacetCount("4999-5000", 1),
    )
    assert page.facets.ratings == (
        FacetCount("4", 1),
        FacetCount("3", 1),
        FacetCount("2", 1),
        FacetCount("1", 1),
    )


async def test_facets_with_text_and_no_filters(engine: TantivySearch) -> None:
    request = SearchRequest("headphones", facet_price_bands=(PriceBand(0, 5000),))

    page = await engine.search(request)

    assert page.facets is not None
    assert page.facets.brands == (
        FacetCount("Sony", 3),
        FacetCount("Acme", 1),
        FacetCount("Razer", 1),
    )
    assert page.facets.categories == (FacetCount(AUDIO, 5),)
    assert page.facets.price_bands == (FacetCount("0-5000", 3),)
    # Ratings 4.5, 3.5, 2.0, 4.5, 0.0 (no reviews counts at no level).
    assert [count.count for count in page.facets.ratings] == [2, 3, 4, 4]


async def test_highlights_mark_exact_typo_and_prefix_matches(engine: TantivySearch) -> None:
    page = await engine.search(SearchRequest("wireles headph", with_highlights=True))

    (hit,) = page.hits
    assert number(hit.id) == 1
    name = hit.highlights["name"]
    assert name.fragment == "Wireless Headphones"
    assert name.ranges == ((0, 8), (9, 19))
    description = hit.highlights["description"]
    assert description.fragment == "Over-ear headphones with noise cancelling"
    assert description.ranges == ((9, 19),)


async def test_long_descriptions_are_cut_around_the_first_match(engine: TantivySearch) -> None:
    text = "word " * 60 + "Cancels noise. " + "more " * 60
    await engine.upsert([dataclasses.replace(CATALOG[0], description=text)])
    await engine.commit(None)

    page = await engine.search(SearchRequest("cancels", with_highlights=True))

    description = page.hits[0].highlights["description"]
    assert len(description.fragment) <= 160
    (start, end), *_ = description.ranges
    assert description.fragment[start:end] == "Cancels"
    assert "name" not in page.hits[0].highlights


async def test_suggestions(engine: TantivySearch) -> None:
    assert await engine.suggest("head", 4) == [
        Suggestion(SuggestionKind.CATEGORY, "Headphones", HEADPHONES),
        Suggestion(SuggestionKind.PRODUCT, "Wireless Headphones", CATALOG[0].id),
        Suggestion(SuggestionKind.PRODUCT, "Headphone Stand", CATALOG[3].id),
        Suggestion(SuggestionKind.PRODUCT, "Gaming Headset", CATALOG[6].id),
    ]
    assert await engine.suggest("LOGI", 3) == [Suggestion(SuggestionKind.BRAND, "Logitech", None)]
    # A word of a longer name, and a typo from four letters.
    assert await engine.suggest("pro", 5) == [
        Suggestion(SuggestionKind.PRODUCT, "Wired Headphones Pro", CATALOG[2].id)
    ]
    assert [s.text for s in await engine.suggest("mechanical keyb", 5)] == ["Mechanical Keyboard"]
    assert [s.text for s in await engine.suggest("keybo", 5)] == [
        "Keyboards",
        "Mechanical Keyboard",
    ]
    assert [s.text for s in await engine.suggest("kyeboard", 5)] == ["Mechanical Keyboard"]
    assert await engine.suggest("  ", 5) == []


async def test_deleted_products_leave_the_suggestions(engine: TantivySearch) -> None:
    await engine.delete([CATALOG[5].id])
    await engine.commit(None)

    assert await engine.suggest("keyb", 5) == []
    assert await engine.suggest("mech", 5) == []


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
