"""The Tantivy engine's facet counts, highlights and suggestions."""

from __future__ import annotations

import dataclasses

import pytest

from integrations.search import tantivy_engine
from integrations.search.engine import (
    FacetCount,
    PriceBand,
    SearchFilters,
    SearchRequest,
    Suggestion,
    SuggestionKind,
)
from integrations.search.tantivy_engine import TantivySearch
from tests.integrations.tantivy_catalog import (
    AUDIO,
    CATALOG,
    COMPUTERS,
    HEADPHONES,
    SPEAKERS,
    number,
    product,
)


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


@pytest.mark.parametrize(
    "bands",
    [
        (PriceBand(0, 500), PriceBand(500, 5000), PriceBand(5000, None)),  # side by side
        (PriceBand(1999, None), PriceBand(0, 10_000), PriceBand(1999, 5000), PriceBand(500, 500)),
        (PriceBand(4999, 8000), PriceBand(0, 1999), PriceBand(7999, None), PriceBand(100, 200)),
    ],
)
async def test_price_bands_count_each_band_whatever_the_others(
    engine: TantivySearch, bands: tuple[PriceBand, ...]
) -> None:
    request = SearchRequest("", facet_price_bands=bands, with_page=False)

    page = await engine.search(request)

    assert page.facets is not None
    assert [count.count for count in page.facets.price_bands] == [
        sum(
            1
            for document in CATALOG
            if document.final_price >= band.min
            and (band.max is None or document.final_price < band.max)
        )
        for band in bands
    ]


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


async def counted(engine: TantivySearch, request: SearchRequest) -> dict[str, dict[str, int]]:
    facets = (await engine.search(request)).facets
    assert facets is not None
    return {
        "categories": {count.value: count.count for count in facets.categories},
        "brands": {count.value: count.count for count in facets.brands},
    }


async def test_a_category_pages_counts_of_every_category_follow_each_commit(
    engine: TantivySearch,
) -> None:
    # Its category facet leaves out its only filter: it counts the whole catalog, which is
    # kept for the index's commit.
    request = SearchRequest(
        "", filters=SearchFilters(category_id=AUDIO), facet_price_bands=(), with_page=False
    )
    assert await counted(engine, request) == {
        "categories": {AUDIO: 5, COMPUTERS: 3},
        "brands": {"Sony": 3, "Acme": 1, "Razer": 1},
    }

    await engine.delete([CATALOG[1].id, CATALOG[7].id])  # a mouse and a cable
    await engine.upsert(
        [product(70, "Studio Monitor", "Acme", AUDIO, SPEAKERS, 20000, True, 4.0, "")]
    )
    await engine.commit(None)

    assert await counted(engine, request) == {
        "categories": {AUDIO: 6, COMPUTERS: 1},
        "brands": {"Sony": 3, "Acme": 2, "Razer": 1},
    }
    # With text, nothing is kept: a word's counts are its own (headphones and a speaker).
    worded = await counted(engine, dataclasses.replace(request, text="wireless"))
    assert worded["categories"] == {AUDIO: 2}


async def test_lists_without_text_each_keep_the_counts_of_their_own_filters(
    engine: TantivySearch,
) -> None:
    # Kept for the commit by their filters: each category page, and the whole catalog.
    def listing(**filters: object) -> SearchRequest:
        return SearchRequest(
            "", filters=SearchFilters(**filters), facet_price_bands=(), with_page=False
        )

    async def count_all() -> list[dict[str, dict[str, int]]]:
        return [
            await counted(engine, listing(category_id=AUDIO)),
            await counted(engine, listing(category_id=COMPUTERS)),
            await counted(engine, listing(category_id=COMPUTERS, brand="Acme")),
            await counted(engine, listing()),
        ]

    rounds = [await count_all()]
    assert engine._latest is not None
    kept = dict(engine._latest.every_product_counts)
    rounds.append(await count_all())

    assert [found["brands"] for found in rounds[0]] == [
        {"Sony": 3, "Acme": 1, "Razer": 1},
        {"Logitech": 2, "Acme": 1},
        {"Logitech": 2, "Acme": 1},  # the brand facet leaves out its own filter
        {"Sony": 3, "Acme": 2, "Logitech": 2, "Razer": 1},
    ]
    assert rounds[0][2]["categories"] == {AUDIO: 1, COMPUTERS: 1}  # Acme's, in any category
    assert rounds[1] == rounds[0]
    assert engine._latest.every_product_counts == kept  # the second round aggregated nothing
    # Every category page's category facet counts the whole catalog: kept once for them all.
    catalog_wide = [spec for applied, spec in kept if applied == SearchFilters()]
    assert len(catalog_wide) == 2  # the category facet alone, and the four of `listing()`


async def test_highlights_mark_exact_typo_and_prefix_matches(engine: TantivySearch) -> None:
    page = await engine.search(SearchRequest("wireles headph"))

    (hit,) = page.hits
    assert number(hit.id) == 1
    marked = page.highlight(CATALOG[0].name, CATALOG[0].description)
    name = marked["name"]
    assert name.fragment == "Wireless Headphones"
    assert name.ranges == ((0, 8), (9, 19))
    description = marked["description"]
    assert description.fragment == "Over-ear headphones with noise cancelling"
    assert description.ranges == ((9, 19),)
    # The text given is marked, not the index's: a newer name than the last commit's.
    assert page.highlight("Wireless Earbuds", "")["name"].ranges == ((0, 8),)
    assert page.highlight("WIRELESS HEADPHONES", "")["name"].ranges == ((0, 8), (9, 19))
    assert page.highlight("Keyboard", "Mechanical") == {}


async def test_long_descriptions_are_cut_around_the_first_match(engine: TantivySearch) -> None:
    text = "word " * 60 + "Cancels noise. " + "more " * 60

    page = await engine.search(SearchRequest("cancels"))

    marked = page.highlight(CATALOG[0].name, text)
    description = marked["description"]
    assert len(description.fragment) <= 160
    (start, end), *_ = description.ranges
    assert description.fragment[start:end] == "Cancels"
    assert "name" not in marked


async def test_a_search_without_words_marks_nothing(engine: TantivySearch) -> None:
    page = await engine.search(SearchRequest("", filters=SearchFilters(brand="Sony")))

    assert page.hits
    assert page.highlight(CATALOG[0].name, CATALOG[0].description) == {}


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


@pytest.mark.parametrize("one_by_one", [tantivy_engine.MAX_TERMS_COUNTED_ONE_BY_ONE, 0])
async def test_brands_are_suggested_by_their_live_products(
    engine: TantivySearch, one_by_one: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tantivy_engine, "MAX_TERMS_COUNTED_ONE_BY_ONE", one_by_one)
    # "Sonar" has more products in the index's dictionary than "Sony" (3) until the deleted
    # ones are merged away, but fewer live: Sony first, and Sonar still, for its one left.
    sonar = [
        product(60 + n, f"Sonar Buoy {n}", "Sonar", AUDIO, SPEAKERS, 999, True, 4.0, "")
        for n in range(5)
    ]
    await engine.upsert(sonar)
    await engine.commit(None)
    await engine.delete([document.id for document in sonar[1:]])
    await engine.commit(None)

    brands = [s.text for s in await engine.suggest("son", 5) if s.kind is SuggestionKind.BRAND]
    assert brands == ["Sony", "Sonar"]
    assert [s.text for s in await engine.suggest("son", 1)] == ["Sony"]
