"""Pages of hits in a request's order, after a `Position` (keyset semantics).

Tantivy orders hits by one key (a score or a fast field) and leaves ties in index order, which
moves at every merge. Pages here are in (key, id) order: the hits strictly after a position
come next, whatever was committed in between.

- Field orders (price, created_at, rating) page by ranges: the position's own value with ids
  after its id, then values beyond it. Where a page ends inside a run of equal values, that run
  is read again ordered by id.
- Relevance is the text's levels, best first (tantivy_queries.py), each paged as a field order
  by the static rank; a position's value is its level and its static rank in one integer.
  Static ranks are nearly unique, so a page after a position reads one window from the
  position's rank on, which holds the position's short run of equal ranks whole
  (`_page_through`); a longer run goes the field orders' way.

Any depth costs the same: no page scores or counts the matches before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import tantivy
from tantivy import FieldType, Order, Query

from integrations.search import tantivy_queries as queries
from integrations.search import tantivy_schema as fields
from integrations.search.engine import Position, SearchOrder

ORDER_FIELDS: dict[SearchOrder, tuple[str, FieldType]] = {
    SearchOrder.PRICE: (fields.FINAL_PRICE, FieldType.Integer),
    SearchOrder.CREATED_AT: (fields.CREATED_AT, FieldType.Integer),
    SearchOrder.RATING: (fields.RATING, FieldType.Float),
}
RANK = (fields.STATIC_RANK, FieldType.Integer)
# A run of equal values up to this long is read whole to find what comes after a position.
SHORT_RUN = 100
# A relevance page after a position reads this many hits more than it needs in one window, for
# those of the position's own run of equal ranks up to its id, its own hit included
# (`_page_through`).
AFTER_SLACK = 3
# With checked filters, a page's window first tests this many times the hits it needs.
CHECKED_WINDOW = 4
# A relevance position's value: the level above these bits, the static rank (below 2**34) in
# them; below 2**53, so a cursor's value survives a float.
LEVEL_SHIFT = 40


@dataclass(frozen=True)
class Hit:
    value: float | int
    id: str
    address: tantivy.DocAddress


def result_count(result: tantivy.SearchResult) -> int | None:
    """How many hits the search counted (None when it did not count)."""
    return result.count  # type: ignore[attr-defined]  # the stub leaves it out


def count(searcher: tantivy.Searcher, query: Query) -> int:
    """How many hits `query` has."""
    return result_count(searcher.search(query, limit=1, count=True)) or 0


def hit_ids(searcher: tantivy.Searcher, addresses: list[tantivy.DocAddress]) -> list[str]:
    if not addresses:
        return []
    highs = searcher.fast_field_values(fields.ID_HIGH, addresses)
    lows = searcher.fast_field_values(fields.ID_LOW, addresses)
    return [fields.join_id(int(h or 0), int(low or 0)) for h, low in zip(highs, lows, strict=True)]


def _hits(searcher: tantivy.Searcher, found: list[tuple[float, tantivy.DocAddress]]) -> list[Hit]:
    ids = hit_ids(searcher, [address for _, address in found])
    return [Hit(value, id_, address) for (value, address), id_ in zip(found, ids, strict=True)]


def _in_order(hits: list[Hit], *, descending: bool) -> list[Hit]:
    # Ids ascending within equal values, in either direction.
    hits = sorted(hits, key=lambda hit: hit.id)
    return sorted(hits, key=lambda hit: hit.value, reverse=descending)


def relevance_page(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    levels: list[tuple[int, Query]],
    conditions: list[Query],
    after: Position | None,
    want: int,
    checks: queries.Checks | None = None,
) -> list[Hit]:
    """Up to `want` hits after `after` meeting every one of `conditions` and passing `checks`:
    the levels' (from `tantivy_queries.level_queries`) in turn, each by static rank, highest
    first, ties by id."""
    after_level, after_rank = None, None
    if after is not None:
        value = int(after.value)  # a cursor's value may have been through a float
        after_level, after_rank = value >> LEVEL_SHIFT, value & ((1 << LEVEL_SHIFT) - 1)
    hits: list[Hit] = []
    above = None
    for number, query in levels:
        own, above = query if above is None else queries.but_not(query, above), query
        if after_level is not None and number > after_level:
            continue
        within = None
        if after is not None and number == after_level:
            within = Position(after_rank, after.id)  # type: ignore[arg-type]
        found = field_page(
            searcher,
            schema,
            queries.all_of(conditions, own),
            RANK,
            descending=True,
            after=within,
            want=want - len(hits),
            checks=checks,
        )
        hits += [
            Hit((number << LEVEL_SHIFT) | int(hit.value), hit.id, hit.address) for hit in found
        ]
        if len(hits) >= want:
            break
    return hits


def field_page(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: Query,
    order: tuple[str, FieldType],
    *,
    descending: bool,
    after: Position | None,
    want: int,
    checks: queries.Checks | None = None,
) -> list[Hit]:
    """Up to `want` hits of `query` passing `checks` after `after` by a fast field
    (`ORDER_FIELDS`, `RANK`), ties by id."""
    field, field_type = order
    if after is not None:
        # A cursor may have been through JSON: the field's own type again.
        value = after.value
        after = Position(int(value) if field_type is FieldType.Integer else float(value), after.id)
    direction = Order.Desc if descending else Order.Asc
    if after is not None and order == RANK:
        # Static ranks are nearly unique: the cursor's run is short, and one window holds it.
        found = _page_through(searcher, schema, query, order, descending, after, want, checks)
        if found is not None:
            return found
    checked = queries.all_of([checks.query], query) if checks is not None else query
    hits: list[Hit] = []
    rest = query
    if after is not None:
        same_value = queries.all_of(
            [queries.equals(schema, field, field_type, after.value)], checked
        )
        hits += _run_after(searcher, schema, same_value, after, want)
        rest = queries.all_of(
            [queries.beyond(schema, field, field_type, after.value, descending=descending)], query
        )
    need = want - len(hits)
    if need <= 0:
        return hits[:want]
    # One more than needed tells whether the last value's run goes on past the window.
    window = _window(searcher, rest, checks, field, direction, need + 1)
    return hits + _completed(searcher, schema, window, need, rest, order, descending, checks)


def _page_through(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: Query,
    order: tuple[str, FieldType],
    descending: bool,
    after: Position,
    want: int,
    checks: queries.Checks | None,
) -> list[Hit] | None:
    """The page after `after` from one window of the hits at or beyond its value: the
    position's own run of equal values first (those with ids after its id, which the window
    holds whole when it ends inside the window), then what follows. None when the run may go
    on past the window (then its ids are read apart)."""
    field, field_type = order
    through = queries.all_of(
        [queries.at_or_beyond(schema, field, field_type, after.value, descending=descending)],
        query,
    )
    limit = want + AFTER_SLACK + 1
    window = _window(
        searcher, through, checks, field, Order.Desc if descending else Order.Asc, limit
    )
    run = 0
    while run < len(window) and window[run][0] == after.value:
        run += 1
    if run == len(window) == limit:
        return None
    same = sorted(
        (hit for hit in _hits(searcher, window[:run]) if hit.id > after.id), key=lambda h: h.id
    )
    need = want - len(same)
    rest = window[run:]
    if need <= 0:
        return same[:want]
    if len(window) == limit and len(rest) <= need:
        return None  # too few left to tell where the last value's run ends
    return same + _completed(searcher, schema, rest, need, through, order, descending, checks)


def _completed(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    window: list[tuple[float, tantivy.DocAddress]],
    need: int,
    query: Query,
    order: tuple[str, FieldType],
    descending: bool,
    checks: queries.Checks | None,
) -> list[Hit]:
    """The first `need` hits of `window` (in order, with one more when there is one) as hits,
    ties by id: where the last value's run goes on past the window, that run of `query` again,
    in id order."""
    field, field_type = order
    window = window[: need + 1]
    if len(window) <= need or window[need - 1][0] != window[need][0]:
        return _in_order(_hits(searcher, window[:need]), descending=descending)
    last = window[need - 1][0]
    before_last = [found for found in window if found[0] != last]
    hits = _in_order(_hits(searcher, before_last), descending=descending)
    rest = queries.all_of([checks.query], query) if checks is not None else query
    last_run = queries.all_of([queries.equals(schema, field, field_type, last)], rest)
    return hits + _run_by_id(searcher, last_run, last, need - len(hits))


def _window(
    searcher: tantivy.Searcher,
    query: Query,
    checks: queries.Checks | None,
    field: str,
    direction: Order,
    limit: int,
) -> list[tuple[float, tantivy.DocAddress]]:
    """The first `limit` hits of `query` that pass `checks`, by `field` (ties in index order).

    With checks, `CHECKED_WINDOW` times as many hits of the query alone are tested first: a
    filter that lets most products through (a price range, in stock, a minimum rating) costs
    a read per hit that way. When too few of them pass, the query with the checks' own query
    gives the window, and the search's later windows too (`Checks.too_selective`)."""
    if checks is None:
        return _search(searcher, query, field, direction, limit)
    if not checks.too_selective:
        wide = _search(searcher, query, field, direction, limit * CHECKED_WINDOW)
        ranks = [int(value) for value, _ in wide] if field == fields.STATIC_RANK else None
        passing = checks.passing(searcher, [address for _, address in wide], ranks)
        window = [found for found, ok in zip(wide, passing, strict=True) if ok]
        if len(window) >= limit or len(wide) < limit * CHECKED_WINDOW:
            # Every hit up to the last tested is in order: the first `limit` that pass are.
            return window[:limit]
        checks.too_selective = True
    return _search(searcher, queries.all_of([checks.query], query), field, direction, limit)


def _search(
    searcher: tantivy.Searcher, query: Query, field: str, direction: Order, limit: int
) -> list[tuple[float, tantivy.DocAddress]]:
    found: list[tuple[float, tantivy.DocAddress]] = searcher.search(
        query, limit=limit, count=False, order_by_field=field, order=direction
    ).hits
    return found


def _run_after(
    searcher: tantivy.Searcher, schema: tantivy.Schema, run: Query, after: Position, limit: int
) -> list[Hit]:
    """Hits of `run` (one value's) with ids after the position's, the first `limit` by id."""
    # Most runs are short (static ranks are nearly unique): read the whole run and skip what
    # comes before the id here; ranges over the id's halves cost milliseconds at a million.
    found = searcher.search(
        run, limit=SHORT_RUN, count=True, order_by_field=fields.ID, order=Order.Asc
    )
    if (result_count(found) or 0) <= SHORT_RUN:
        hits = [Hit(after.value, str(id_), address) for id_, address in found.hits]
        return [hit for hit in hits if hit.id > after.id][:limit]
    longer = queries.all_of([queries.ids_after(schema, after.id)], run)
    return _run_by_id(searcher, longer, after.value, limit)


def _run_by_id(searcher: tantivy.Searcher, query: Query, value: float, limit: int) -> list[Hit]:
    """Hits that share one value, the first `limit` by id."""
    if limit <= 0:
        return []
    found = searcher.search(
        query, limit=limit, count=False, order_by_field=fields.ID, order=Order.Asc
    ).hits
    return [Hit(value, str(id_), address) for id_, address in found]
