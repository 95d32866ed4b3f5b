"""The search engine interface: what the storefront's product search asks of an engine.

An engine keeps an index of the visible products (published, not archived) as plain
`SearchDocument`s and answers `SearchRequest`s with pages of product ids, in relevance or
another order, with counts, highlights and facet counts; and `suggest` answers autocomplete.
Who feeds it (a follower of MongoDB's change stream) and who turns ids into products (the
catalog's loaders) live outside: this package imports nothing else of the project's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class SearchOrder(enum.StrEnum):
    RELEVANCE = "relevance"  # best first (level, then static rank, descending), then id
    PRICE = "price"  # final_price
    CREATED_AT = "created_at"
    RATING = "rating"  # rating_average


@dataclass(frozen=True)
class SearchDocument:
    """One visible product as the index keeps it. Ids are MongoDB ObjectIds as hex strings;
    money in integer minor units."""

    id: str
    name: str
    description: str
    brand: str
    category_id: str
    subcategory_id: str | None
    # The names of its category and subcategory, in that order (a name goes with the id in the
    # same place): "headphones" finds a product of that category.
    category_names: tuple[str, ...]
    final_price: int
    in_stock: bool
    rating_average: float
    created_at: datetime


@dataclass(frozen=True)
class SearchFilters:
    """Filters applied with the text; None is no filter. Prices in minor units, inclusive."""

    category_id: str | None = None
    subcategory_id: str | None = None
    brand: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool | None = None
    min_rating: float | None = None


@dataclass(frozen=True)
class Position:
    """Where a page ends, for the next page: the last hit's sort value (for RELEVANCE its
    level and static rank in one integer) and id. Hits strictly after it in the request's
    order come next."""

    value: float | int
    id: str


@dataclass(frozen=True)
class PriceBand:
    """[min, max) in minor units; max None is unbounded."""

    min: int
    max: int | None


@dataclass(frozen=True)
class SearchRequest:
    text: str  # what the shopper typed; may be empty with facets (all visible products)
    filters: SearchFilters = SearchFilters()
    order: SearchOrder = SearchOrder.RELEVANCE
    descending: bool = True  # for the field orders; RELEVANCE is always best first
    limit: int = 20
    after: Position | None = None
    with_total: bool = False
    # Facet counts are computed only when asked for, over these price bands.
    facet_price_bands: tuple[PriceBand, ...] | None = None
    # False: no page at all (hits empty, has_more False), for a request of the total or the
    # facets alone, which then costs no ordering of the matches.
    with_page: bool = True


@dataclass(frozen=True)
class Highlight:
    """A fragment of a field's text, and the [start, end) character ranges in it that matched.
    Plain text: the client marks the ranges up (never HTML from the engine)."""

    fragment: str
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class SearchHit:
    id: str
    position: Position


@dataclass(frozen=True)
class FacetCount:
    value: str  # a brand, a category id, a price band as "min-max" ("min-" unbounded), a rating
    count: int


@dataclass(frozen=True)
class Facets:
    """How many products each value would give, with the text and every other filter applied
    (a facet's own filter is left out of its own counts, so a filter UI can offer the others)."""

    brands: tuple[FacetCount, ...]
    categories: tuple[FacetCount, ...]  # by category id (top-level categories)
    price_bands: tuple[FacetCount, ...]  # in the request's band order
    ratings: tuple[FacetCount, ...]  # "4", "3", "2", "1": products rated at least that


def no_highlights(name: str, description: str) -> dict[str, Highlight]:
    return {}


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    has_more: bool
    total: int | None  # when asked for
    facets: Facets | None  # when asked for
    # Marks up a product's name and description as this search matched them: the fields with
    # a match ("name", "description"), each with its fragment. Given the text the caller shows
    # (MongoDB's, newer than the index's), so the engine stores and reads no text for it.
    highlight: Callable[[str, str], dict[str, Highlight]] = no_highlights


class SuggestionKind(enum.StrEnum):
    PRODUCT = "product"
    BRAND = "brand"
    CATEGORY = "category"


@dataclass(frozen=True)
class Suggestion:
    kind: SuggestionKind
    text: str  # what to show: a product's name, a brand, a category's name
    id: str | None  # the product's or category's id; None for a brand


class SearchEngineUnavailableError(Exception):
    """The engine cannot answer yet: e.g. its index has not been built."""


class SearchEngine(Protocol):
    """Reads (`search`, `suggest`) may run in any process; writes (`upsert`, `delete`,
    `clear`, `commit`) in the one process that owns the index (the follower). Writes are
    invisible to readers until `commit`; a reader sees a commit from its next request on."""

    name: str

    async def search(self, request: SearchRequest) -> SearchPage: ...

    async def suggest(self, prefix: str, limit: int) -> list[Suggestion]: ...

    async def upsert(self, documents: list[SearchDocument]) -> None: ...

    async def delete(self, ids: list[str]) -> None: ...

    async def commit(self, resume_point: str | None) -> None:
        """Make the writes so far visible to every reader, with the change stream position
        they reach (kept with the index, read back by `resume_point`)."""
        ...

    async def resume_point(self) -> str | None: ...

    async def clear(self) -> None:
        """Drop every document (at the next `commit`): a rebuild is `clear`, `upsert` of every
        visible product in batches, `commit`; readers see the old index until then."""
        ...

    async def close(self) -> None: ...
