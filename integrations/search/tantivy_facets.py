"""Facet counts for filter UIs from Tantivy aggregations.

Disjunctive: each facet counts with the text and every filter but its own, so a shopper who
chose a brand still sees how many products the other brands would give. Facets whose own filter
is not set share one aggregation over the fully filtered query; each set one needs its own.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from typing import Any

import tantivy

from integrations.search import tantivy_queries as queries
from integrations.search import tantivy_schema as fields
from integrations.search.engine import FacetCount, Facets, PriceBand, SearchFilters

BRAND_FACET_SIZE = 20
CATEGORY_FACET_SIZE = 100
RATING_LEVELS = (4, 3, 2, 1)
# Aggregations without text kept per commit: the whole catalog's, each category page's (and
# each other set of filters a list without text has); about 10 KB each.
MAX_KEPT_COUNTS = 256

BRANDS, CATEGORIES, PRICES, RATINGS = "brands", "categories", "price_bands", "ratings"
# The filter each facet leaves out of its own counts.
OWN_FILTER = {
    BRANDS: queries.BRAND_KEY,
    CATEGORIES: queries.CATEGORY_KEY,
    PRICES: queries.PRICE_KEY,
    RATINGS: queries.RATING_KEY,
}


def _aggregation(facet: str, bands: tuple[PriceBand, ...]) -> dict[str, Any]:
    if facet == BRANDS:
        return {BRANDS: {"terms": {"field": fields.BRAND, "size": BRAND_FACET_SIZE}}}
    if facet == CATEGORIES:
        return {CATEGORIES: {"terms": {"field": fields.CATEGORY_ID, "size": CATEGORY_FACET_SIZE}}}
    if facet == RATINGS:
        # Tantivy's ranges may not overlap: one bucket per level, added up from the top.
        levels = sorted(RATING_LEVELS)
        ranges = [{"from": low, "to": high} for low, high in itertools.pairwise(levels)]
        return {
            RATINGS: {"range": {"field": fields.RATING, "ranges": [*ranges, {"from": levels[-1]}]}}
        }
    # The request's bands may overlap, and Tantivy's ranges may not: one range between each two
    # neighbouring bounds of any band, added up per band (`_band_counts`).
    if not bands:
        return {}
    return {PRICES: {"range": {"field": fields.FINAL_PRICE, "ranges": _pieces(bands)}}}


def _pieces(bands: tuple[PriceBand, ...]) -> list[dict[str, int]]:
    bounds = sorted({band.min for band in bands} | {b.max for b in bands if b.max is not None})
    pieces = [{"from": low, "to": high} for low, high in itertools.pairwise(bounds)]
    return [*pieces, {"from": bounds[-1]}]


def _band_counts(result: dict[str, Any], bands: tuple[PriceBand, ...]) -> tuple[FacetCount, ...]:
    """Each band's count: the pieces of `_pieces` inside it (a band is `[min, max)`)."""
    pieces = [
        (bucket.get("from"), bucket.get("to"), int(bucket["doc_count"]))
        for bucket in result["buckets"]
        if bucket.get("from") is not None  # Tantivy's own bucket below the lowest bound
    ]
    return tuple(
        FacetCount(
            _band_label(band),
            sum(
                count
                for low, high, count in pieces
                if low >= band.min and (band.max is None or (high is not None and high <= band.max))
            ),
        )
        for band in bands
    )


def _terms(result: dict[str, Any]) -> tuple[FacetCount, ...]:
    counts = [
        FacetCount(str(bucket["key"]), int(bucket["doc_count"])) for bucket in result["buckets"]
    ]
    return tuple(sorted(counts, key=lambda count: (-count.count, count.value)))


def _band_label(band: PriceBand) -> str:
    return f"{band.min}-" if band.max is None else f"{band.min}-{band.max}"


def _ratings(result: dict[str, Any]) -> tuple[FacetCount, ...]:
    at_least = {level: 0 for level in RATING_LEVELS}
    for bucket in result["buckets"]:
        start = bucket.get("from")
        for level in RATING_LEVELS:
            if start is not None and start >= level:
                at_least[level] += int(bucket["doc_count"])
    return tuple(FacetCount(str(level), at_least[level]) for level in RATING_LEVELS)


def facet_counts(
    searcher: tantivy.Searcher,
    text: tantivy.Query,
    filters: dict[queries.FilterKey, tantivy.Query],
    bands: tuple[PriceBand, ...],
    *,
    every_product_counts: dict[tuple[SearchFilters, str], Any] | None = None,
    search_filters: SearchFilters | None = None,
) -> Facets:
    """The four facets' counts, in as few aggregations as the set filters allow.

    `every_product_counts`, given when `text` matches every product, keeps the aggregations
    for the searcher's commit by the filters each one applies (`search_filters`, what
    `filters` were made from, less the facet's own): without text they are the same for every
    request applying those filters until the next commit (every category page's category
    facet counts the whole catalog). Aggregated over a million products, they cost
    milliseconds a request. Once it holds `MAX_KEPT_COUNTS`, the newest gives way: those a
    commit's first requests keep are not evicted by a stream of filters that match nothing."""
    by_left_out: dict[str | None, list[str]] = {}
    for facet in (BRANDS, CATEGORIES, PRICES, RATINGS):
        own = OWN_FILTER[facet]
        by_left_out.setdefault(own if own in filters else None, []).append(facet)
    results: dict[str, Any] = {}
    for left_out, facets in by_left_out.items():
        narrowing = [q for key, q in filters.items() if key != left_out]
        query = queries.all_of(narrowing, text)
        specification: dict[str, Any] = {}
        for facet in facets:
            specification.update(_aggregation(facet, bands))
        if not specification:
            continue
        if every_product_counts is None:
            results.update(searcher.aggregate(query, specification))
            continue
        applied = queries.without(search_filters or SearchFilters(), left_out)
        key = (applied, json.dumps(specification, sort_keys=True))
        found = every_product_counts.get(key)
        if found is None:
            found = searcher.aggregate(query, specification)
            # Searches run in threads: popitem is atomic, and a race only overshoots a little.
            with contextlib.suppress(KeyError):
                while len(every_product_counts) >= MAX_KEPT_COUNTS:  # bands are the client's
                    every_product_counts.popitem()
            every_product_counts[key] = found
        results.update(found)
    return Facets(
        brands=_terms(results[BRANDS]),
        categories=_terms(results[CATEGORIES]),
        price_bands=_band_counts(results[PRICES], bands) if bands else (),
        ratings=_ratings(results[RATINGS]),
    )
