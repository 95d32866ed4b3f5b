"""A small catalog for the Tantivy search engine's tests, and their helpers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from integrations.search.engine import Position, SearchDocument, SearchOrder, SearchRequest
from integrations.search.tantivy_engine import TantivySearch

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


async def found(engine: TantivySearch, text: str, limit: int = 50, **options: object) -> list[int]:
    page = await engine.search(SearchRequest(text, limit=limit, **options))  # type: ignore[arg-type]
    return [number(hit.id) for hit in page.hits]


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
        found = [number(hit.id) for hit in page.hits]
        # A page that repeats a hit would page forever: fail at once instead.
        assert not set(found) & set(ids), f"{found} repeats hits of the pages before: {ids}"
        ids += found
        if not page.has_more:
            return ids
        after = page.hits[-1].position
