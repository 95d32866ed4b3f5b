"""Pages of hits in a request's order, after a `Position` (keyset semantics).

Tantivy orders hits by one key (a score or a fast field) and leaves ties in index order, which
moves at every merge. Pages here are in (key, id) order: the hits strictly after a position
come next, whatever was committed in between.

- Field orders (price, created_at, rating) page by ranges: the position's own value with ids
  after its id, then values beyond it. Where a page ends inside a run of equal values, that run
  is read again ordered by id. Any depth costs the same.
- Relevance has no range over scores: the top hits are read in growing windows until the page
  after the position is complete, up to `MAX_DEPTH` hits deep. Scores are constant per product
  and query (tantivy_queries.py), so equal scores are rare and a position stays meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass

import tantivy
from tantivy import FieldType, Order, Query

from integrations.search import tantivy_queries as queries
from integrations.search import tantivy_schema as fields
from integrations.search.engine import Position, SearchOrder, SearchTooDeepError

MAX_DEPTH = 10_000
FIRST_WINDOW_EXTRA = 16
WINDOW_GROWTH = 8

ORDER_FIELDS: dict[SearchOrder, tuple[str, FieldType]] = {
    SearchOrder.PRICE: (fields.FINAL_PRICE, FieldType.Integer),
    SearchOrder.CREATED_AT: (fields.CREATED_AT, FieldType.Integer),
    SearchOrder.RATING: (fields.RATING, FieldType.Float),
}


@dataclass(frozen=True)
class Hit:
    value: float | int
    id: str
    address: tantivy.DocAddress


def result_count(result: tantivy.SearchResult) -> int | None:
    """How many hits the search counted (None when it did not count)."""
    return result.count  # type: ignore[attr-defined]  # the stub leaves it out


def count(searcher: tantivy.Searcher, query: Query) -> int:
    """How many hits `query` has (unordered: no score is weighted by the static rank)."""
    return result_count(searcher.search(query, limit=1, count=True)) or 0


def hit_ids(searcher: tantivy.Searcher, addresses: list[tantivy.DocAddress]) -> list[str]:
    if not addresses:
        return []
    highs = searcher.fast_field_values(fields.ID_HIGH, addresses)
    lows = searcher.fast_field_values(fields.ID_LOW, addresses)
    return [fields.join_id(int(h or 0), int(low or 0)) for h, low in zip(highs, lows, strict=True)]


def _hits(searcher: tantivy.Searcher, found: list[tuple[object, tantivy.DocAddress]]) -> list[Hit]:
    ids = hit_ids(searcher, [address for _, address in found])
    return [
        Hit(value, id_, address)  # type: ignore[arg-type]
        for (value, address), id_ in zip(found, ids, strict=True)
    ]


def _after(hit: Hit, position: Position, *, descending: bool) -> bool:
    if hit.value == position.value:
        return hit.id > position.id
    return hit.value < position.value if descending else hit.value > position.value


def _in_order(hits: list[Hit], *, descending: bool) -> list[Hit]:
    # Ids ascending within equal values, in either direction.
    hits = sorted(hits, key=lambda hit: hit.id)
    return sorted(hits, key=lambda hit: hit.value, reverse=descending)


def relevance_page(
    searcher: tantivy.Searcher, query: Query, after: Position | None, want: int, *, count: bool
) -> tuple[list[Hit], int | None]:
    """Up to `want` hits after `after`, best score first, ties by id; and how many hits the
    query has in all when `count`."""
    size = want + FIRST_WINDOW_EXTRA
    total = None
    while True:
        result = searcher.search(
            query, limit=size, count=count and total is None, weight_by_field=fields.STATIC_RANK
        )
        total = result_count(result) if total is None else total
        window = result.hits
        complete = len(window) < size
        if not complete:
            # The lowest score's run may go on past the window: leave it for a bigger one.
            lowest = window[-1][0]
            window = [found for found in window if found[0] != lowest]
        if after is not None:
            # Only hits at or below the position's score can come after it; ids tell at equals.
            window = [found for found in window if found[0] <= after.value]
        hits = _in_order(_hits(searcher, window), descending=True)
        if after is not None:
            hits = [hit for hit in hits if _after(hit, after, descending=True)]
        if complete or len(hits) >= want:
            return hits[:want], total
        if size >= MAX_DEPTH + want:
            raise SearchTooDeepError(f"relevance pages reach {MAX_DEPTH} hits deep")
        size = min(size * WINDOW_GROWTH, MAX_DEPTH + want)


def field_page(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: Query,
    order: SearchOrder,
    *,
    descending: bool,
    after: Position | None,
    want: int,
    count: bool,
) -> tuple[list[Hit], int | None]:
    """Up to `want` hits after `after` by a fast field, ties by id; and how many hits the
    query has in all when `count`."""
    field, field_type = ORDER_FIELDS[order]
    total = None
    if after is not None:
        if count:  # of the whole query: the page's own searches see only part of it
            total = result_count(searcher.search(query, limit=1, count=True))
        # A cursor may have been through JSON: the field's own type again.
        value = after.value
        after = Position(int(value) if field_type is FieldType.Integer else float(value), after.id)
    direction = Order.Desc if descending else Order.Asc
    hits: list[Hit] = []
    rest = query
    if after is not None:
        same_value = queries.all_of(
            [
                queries.equals(schema, field, field_type, after.value),
                queries.ids_after(schema, after.id),
            ],
            query,
        )
        hits += _run_by_id(searcher, same_value, after.value, want)
        rest = queries.all_of(
            [queries.beyond(schema, field, field_type, after.value, descending=descending)], query
        )
    need = want - len(hits)
    if need <= 0:
        return hits[:want], total
    result = searcher.search(
        rest, limit=need, count=count and after is None, order_by_field=field, order=direction
    )
    total = result_count(result) if count and after is None else total
    window = result.hits
    if len(window) < need:
        return hits + _in_order(_hits(searcher, window), descending=descending), total
    # The last value's run may go on past the window: read it again in id order.
    last = window[-1][0]
    before_last = [found for found in window if found[0] != last]
    hits += _in_order(_hits(searcher, before_last), descending=descending)
    last_run = queries.all_of([queries.equals(schema, field, field_type, last)], rest)
    return hits + _run_by_id(searcher, last_run, last, want - len(hits)), total


def _run_by_id(searcher: tantivy.Searcher, query: Query, value: float, limit: int) -> list[Hit]:
    """Hits that share one value, the first `limit` by id."""
    if limit <= 0:
        return []
    found = searcher.search(
        query, limit=limit, count=False, order_by_field=fields.ID, order=Order.Asc
    ).hits
    return [Hit(value, str(id_), address) for id_, address in found]
