"""The Tantivy engine's matching, filters, orders and pages, on a real index in a temporary
directory (no servers)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from documents.money import MAX_MINOR_UNITS
from integrations.search import tantivy_paging, tantivy_schema
from integrations.search.engine import (
    SearchDocument,
    SearchFilters,
    SearchOrder,
    SearchRequest,
)
from integrations.search.tantivy_engine import TantivySearch
from integrations.search.tantivy_schema import static_rank
from tests.integrations.tantivy_catalog import (
    ACCESSORIES,
    AUDIO,
    BY_ID,
    CABLES,
    CATEGORY_NAMES,
    COMPUTERS,
    HEADPHONES,
    KEYBOARDS,
    MICE,
    all_pages,
    expected_order,
    found,
    number,
    product,
)


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


async def test_a_word_as_typed_ranks_above_a_longer_word_it_begins(
    engine: TantivySearch,
) -> None:
    # Better rated, but "mouse" only begins its name's word.
    pad = product(30, "Mousepad XL", "Acme", COMPUTERS, MICE, 999, True, 5.0, "Cloth")
    await engine.upsert([pad])
    await engine.commit(None)

    assert await found(engine, "mouse") == [2, 30]


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


@pytest.mark.parametrize("order", [SearchOrder.PRICE, SearchOrder.CREATED_AT, SearchOrder.RATING])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("short_run", [tantivy_paging.SHORT_RUN, 1])  # runs read whole, or not
async def test_field_orders_page_without_repeats_or_skips_ties_by_id(
    engine: TantivySearch,
    order: SearchOrder,
    descending: bool,
    short_run: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tantivy_paging, "SHORT_RUN", short_run)
    for limit in (1, 2, 3):
        request = SearchRequest("", order=order, descending=descending, limit=limit)
        assert await all_pages(engine, request) == expected_order(order, descending)


async def test_relevance_pages_match_one_long_page(engine: TantivySearch) -> None:
    whole = await found(engine, "audio")

    assert len(whole) == 5
    for limit in (1, 2):
        assert await all_pages(engine, SearchRequest("audio", limit=limit)) == whole


@pytest.mark.parametrize("short_run", [tantivy_paging.SHORT_RUN, 1])
# A page after a position: from one window of hits (the run whole in it, with 20), or by the
# run's ids apart (the run fills the window, with 0).
@pytest.mark.parametrize("slack", [tantivy_paging.AFTER_SLACK, 0, 20])
async def test_relevance_ties_are_paged_by_id(
    engine: TantivySearch, short_run: int, slack: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tantivy_paging, "SHORT_RUN", short_run)
    monkeypatch.setattr(tantivy_paging, "AFTER_SLACK", slack)
    # Equal in everything the rank sees (ids that share their last 24 bits), indexed against
    # their ids' order, so pages end inside the run of equals.
    twins = [
        dataclasses.replace(
            product(40, "Travel Adapter", "Acme", COMPUTERS, CABLES, 999, True, 4.0, ""),
            id=f"{(n << 24) | 0x123456:024x}",
        )
        for n in range(1, 13)
    ]
    await engine.upsert(twins[::-1])
    await engine.commit(None)

    for limit in (1, 3, 5):
        assert await all_pages(engine, SearchRequest("adapter", limit=limit)) == [
            number(twin.id) for twin in twins
        ]


async def test_a_relevance_page_after_a_cursor_is_one_window_of_hits(
    engine: TantivySearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    await engine.upsert(_cords())
    await engine.commit(None)
    first = await engine.search(SearchRequest("cord", limit=4))
    searched: list[int] = []
    search = tantivy_paging._search

    def counted(*arguments: Any) -> list[tuple[float, Any]]:
        searched.append(arguments[-1])  # its limit
        return search(*arguments)

    monkeypatch.setattr(tantivy_paging, "_search", counted)

    second = await engine.search(SearchRequest("cord", limit=4, after=first.hits[-1].position))

    # Four, one more for the next page, one more to see a run go on, and the slack for the
    # cursor's run (its own hit among it).
    assert searched == [4 + 2 + tantivy_paging.AFTER_SLACK]
    whole = await all_pages(engine, SearchRequest("cord", limit=100))
    assert [number(hit.id) for hit in first.hits + second.hits] == whole[:8]


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


async def test_a_request_without_a_page_counts_and_orders_nothing(engine: TantivySearch) -> None:
    counted = await engine.search(SearchRequest("headphones", with_total=True, with_page=False))
    faceted = await engine.search(
        SearchRequest("headphones", facet_price_bands=(), with_page=False)
    )

    assert (counted.hits, counted.has_more, counted.total) == ([], False, 5)
    assert (faceted.hits, faceted.has_more, faceted.total) == ([], False, None)
    assert faceted.facets is not None
    assert sum(count.count for count in faceted.facets.categories) == 5


async def test_a_deep_relevance_page_resumes_from_its_cursor(
    engine: TantivySearch,
) -> None:
    others = [
        product(200 + n, f"Audio Cable {n}", "Acme", AUDIO, ACCESSORIES, 100 + n, n % 2 == 0,
                (n % 11) / 2, "Cable")
        for n in range(300)
    ]  # fmt: skip
    await engine.upsert(others)
    await engine.commit(None)
    whole = await found(engine, "audio cable", limit=400)
    middle = (await engine.search(SearchRequest("audio cable", limit=250))).hits[-1].position

    rest = await engine.search(SearchRequest("audio cable", limit=100, after=middle))

    assert len(whole) == 300
    assert [number(hit.id) for hit in rest.hits] == whole[250:]


async def test_letters_and_digits_are_words_apart(engine: TantivySearch) -> None:
    await engine.upsert(
        [product(50, "Ultrabook 14, 16 GB RAM", "Acme", COMPUTERS, KEYBOARDS, 1, True, 4.0, "")]
    )
    await engine.commit(None)

    assert await found(engine, "16GB ultrabook") == [50]
    assert await found(engine, "ultrabook 16 gb") == [50]
    assert await found(engine, "usb-c") == [8]


def _cords() -> list[SearchDocument]:
    """Patch cords that tie often on what relevance sees (stock, rating and their ids' last 24
    bits), priced and rated in a spread, against their ids' order."""
    return [
        dataclasses.replace(
            product(0, f"Patch Cord {n}", "Acme", AUDIO, ACCESSORIES, 100 + n, n % 3 != 0,
                    (n % 5) / 2 + 1, ""),
            id=f"{(n << 24) | (n % 4):024x}",
        )
        for n in range(300, 0, -1)
    ]  # fmt: skip


def _best_first(documents: list[SearchDocument]) -> list[int]:
    by_id = sorted(documents, key=lambda document: document.id)
    return [number(d.id) for d in sorted(by_id, key=static_rank, reverse=True)]


@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(price_min=150, price_max=170),  # too few among the best: the query's own
        SearchFilters(in_stock=True),  # most pass: tested on the hits
        SearchFilters(min_rating=2.5, price_max=390),
        SearchFilters(in_stock=False, min_rating=3.0, category_id=AUDIO),
        SearchFilters(price_min=10_000),  # none
    ],
)
@pytest.mark.parametrize("limit", [1, 4, 25])
async def test_checked_filters_page_as_the_filtered_catalog_would(
    engine: TantivySearch, filters: SearchFilters, limit: int
) -> None:
    cords = _cords()
    await engine.upsert(cords)
    await engine.commit(None)

    kept = [
        cord
        for cord in cords
        if (filters.price_min is None or cord.final_price >= filters.price_min)
        and (filters.price_max is None or cord.final_price <= filters.price_max)
        and (filters.in_stock is None or cord.in_stock is filters.in_stock)
        and (filters.min_rating is None or cord.rating_average >= filters.min_rating)
    ]
    pages = await all_pages(engine, SearchRequest("cord", filters=filters, limit=limit))
    counted = await engine.search(SearchRequest("cord", filters=filters, with_total=True))

    assert pages == _best_first(kept)
    assert counted.total == len(kept)


# Ratings about a hundredth either side of the minimums below, where the static rank's rating
# (rounded to hundredths) cannot tell; in and out of stock.
CLOSE_RATINGS = (2.99, 2.994, 2.995, 2.996, 2.999, 3.0, 3.001, 3.004, 3.005, 3.006, 3.01, 4.5)


@pytest.mark.parametrize("min_rating", [3.0, 2.999, 3.005, 2.995, 0.0, 5.0])
@pytest.mark.parametrize("in_stock", [None, True, False])
async def test_a_minimum_rating_on_relevance_pages_keeps_exactly_the_products_rated_enough(
    engine: TantivySearch, min_rating: float, in_stock: bool | None
) -> None:
    cords = [
        product(n + 1, f"Patch Cord {n}", "Acme", AUDIO, ACCESSORIES, 100,
                n // len(CLOSE_RATINGS) % 2 == 0,
                CLOSE_RATINGS[n % len(CLOSE_RATINGS)], "")
        for n in range(3 * len(CLOSE_RATINGS))
    ]  # fmt: skip
    await engine.upsert(cords)
    await engine.commit(None)
    filters = SearchFilters(min_rating=min_rating, in_stock=in_stock, price_max=100)

    kept = [
        cord
        for cord in cords
        if cord.rating_average >= min_rating and in_stock in (None, cord.in_stock)
    ]
    pages = await all_pages(engine, SearchRequest("cord", filters=filters, limit=4))

    assert pages == _best_first(kept)


@pytest.mark.parametrize(
    ("order", "descending", "filters"),
    [
        (SearchOrder.RATING, True, SearchFilters(in_stock=True, price_max=250)),
        (SearchOrder.PRICE, False, SearchFilters(min_rating=3.0)),
        (SearchOrder.PRICE, True, SearchFilters(price_min=150, price_max=170)),
    ],
)
@pytest.mark.parametrize("limit", [1, 4, 25])
async def test_checked_filters_page_a_field_order_as_the_filtered_catalog_would(
    engine: TantivySearch,
    order: SearchOrder,
    descending: bool,
    filters: SearchFilters,
    limit: int,
) -> None:
    cords = _cords()
    await engine.upsert(cords)
    await engine.commit(None)
    value = {
        SearchOrder.RATING: lambda cord: cord.rating_average,
        SearchOrder.PRICE: lambda cord: cord.final_price,
    }[order]

    kept = [
        cord
        for cord in sorted(cords, key=lambda cord: cord.id)
        if (filters.price_min is None or cord.final_price >= filters.price_min)
        and (filters.price_max is None or cord.final_price <= filters.price_max)
        and (filters.in_stock is None or cord.in_stock is filters.in_stock)
        and (filters.min_rating is None or cord.rating_average >= filters.min_rating)
    ]
    request = SearchRequest(
        "cord", filters=filters, order=order, descending=descending, limit=limit
    )

    assert await all_pages(engine, request) == [
        number(cord.id) for cord in sorted(kept, key=value, reverse=descending)
    ]


async def test_a_filter_most_hits_pass_is_tested_on_them_and_a_selective_one_asked_for_once(
    engine: TantivySearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Below the cords' level, three products with the words in their description only.
    adapters = [
        product(900 + n, f"Adapter {n}", "Acme", AUDIO, ACCESSORIES, 160, True, 4.0, "Patch cord")
        for n in range(3)
    ]
    await engine.upsert(_cords() + adapters)
    await engine.commit(None)
    searched: list[int] = []
    search = tantivy_paging._search

    def counted(*arguments: Any) -> list[tuple[float, Any]]:
        found = search(*arguments)
        searched.append(arguments[-1])  # its limit
        return found

    monkeypatch.setattr(tantivy_paging, "_search", counted)

    await engine.search(SearchRequest("cord", filters=SearchFilters(in_stock=True), limit=4))
    window = 4 + 2  # a page of 4, one more for the next page, one more to see a run go on
    assert searched == [window * tantivy_paging.CHECKED_WINDOW]  # one window, tested

    searched.clear()
    selective = SearchFilters(price_min=150, price_max=170)  # 21 cords and the adapters
    page = await engine.search(SearchRequest("patch cord", filters=selective, limit=30))
    # The names' level: its window, too few passing, then its query with the filter; the
    # lower levels (the descriptions' among them): straight to their queries with the filter.
    window = 30 + 2
    assert searched[:2] == [window * tantivy_paging.CHECKED_WINDOW, window]
    assert set(searched[2:]) == {window - 21}
    assert len(page.hits) == 24


def _sorted_cords() -> list[SearchDocument]:
    """The cords, most of them audio accessories, the rest cables, headphones or of no
    subcategory."""
    sorts = [(AUDIO, ACCESSORIES)] * 6 + [(COMPUTERS, CABLES)] * 2 + [(AUDIO, HEADPHONES)]
    cords = []
    for cord in _cords():
        n = number(cord.id) >> 24
        if n % 10 == 9:
            cords.append(
                dataclasses.replace(cord, category_id=COMPUTERS, subcategory_id=None,
                                    category_names=("Computers",))
            )  # fmt: skip
            continue
        category, subcategory = sorts[n % 10]
        names = (CATEGORY_NAMES[category], CATEGORY_NAMES[subcategory])
        cords.append(
            dataclasses.replace(cord, category_id=category, subcategory_id=subcategory,
                                category_names=names)
        )  # fmt: skip
    return cords


def _in(cord: SearchDocument, filters: SearchFilters) -> bool:
    return (
        filters.category_id in (None, cord.category_id)
        and filters.subcategory_id in (None, cord.subcategory_id)
        and (filters.price_min is None or cord.final_price >= filters.price_min)
        and (filters.price_max is None or cord.final_price <= filters.price_max)
        and filters.in_stock in (None, cord.in_stock)
        and (filters.min_rating is None or cord.rating_average >= filters.min_rating)
    )


CATEGORY_FILTERS = [
    SearchFilters(category_id=AUDIO),
    SearchFilters(category_id=COMPUTERS, min_rating=2.0),
    SearchFilters(subcategory_id=HEADPHONES),
    SearchFilters(category_id=AUDIO, subcategory_id=ACCESSORIES, in_stock=True, price_max=250),
    SearchFilters(category_id=AUDIO, subcategory_id=CABLES),  # none: cables are computers'
    SearchFilters(category_id="e0" * 12),  # no such category
]


@pytest.mark.parametrize("filters", CATEGORY_FILTERS)
@pytest.mark.parametrize("order", [SearchOrder.RELEVANCE, SearchOrder.PRICE])
@pytest.mark.parametrize("limit", [1, 7, 25])
async def test_category_filters_page_as_the_filtered_catalog_would(
    engine: TantivySearch, filters: SearchFilters, order: SearchOrder, limit: int
) -> None:
    cords = _sorted_cords()
    await engine.upsert(cords)
    await engine.commit(None)

    kept = [cord for cord in cords if _in(cord, filters)]
    expected = _best_first(kept)
    if order is SearchOrder.PRICE:
        expected = [number(c.id) for c in sorted(kept, key=lambda c: (c.final_price, c.id))]
    request = SearchRequest("cord", filters=filters, order=order, descending=False, limit=limit)

    assert await all_pages(engine, request) == expected


async def test_the_dearest_price_a_product_may_have_is_filtered_exactly(
    engine: TantivySearch,
) -> None:
    dearest = MAX_MINOR_UNITS  # the most documents.money lets a price be
    await engine.upsert(
        [
            product(60, "Gold Cord", "Acme", AUDIO, CABLES, dearest, True, 4.0, ""),
            product(61, "Silver Cord", "Acme", AUDIO, CABLES, dearest - 1, True, 4.0, ""),
        ]
    )
    await engine.commit(None)

    assert await found(engine, "cord", filters=SearchFilters(price_min=dearest)) == [60]
    assert await found(engine, "cord", filters=SearchFilters(price_max=dearest - 1)) == [61]


@pytest.mark.parametrize("value", [-1, 2**tantivy_schema.CHECK_BITS])
def test_a_checked_value_out_of_its_bits_is_refused(value: int) -> None:
    assert MAX_MINOR_UNITS < 2**tantivy_schema.CHECK_BITS  # every price fits

    with pytest.raises(ValueError, match="checked value"):
        tantivy_schema.checked_value(f"{1:024x}", value)
