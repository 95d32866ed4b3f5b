"""Tantivy queries built from what the shopper typed and the filters they chose.

Never `parse_query` on user text: its syntax (`:`, `AND`, `(`) is not the shopper's. The text is
split by the index's own analysers and every word must match, in some field: exactly (stemmed)
in the name, brand, category names or description; or, in the name, brand or category names
(their words unstemmed), with typos when the word is not in the index at all (edit distance 1
from 4 letters, 2 from 8) and, for the last word, as a prefix (a shopper still typing). A word
that is in the index as typed gets no typo matches ("case" does not find "cast").

Relevance is by levels, as storefront search engines rank (typos, then attribute, then a custom
ranking): a product's level is the best of `LEVELS` at which every word matches, best first;
within a level, products go by their static rank (in stock, then better rated:
`tantivy_schema.static_rank`). Each level is a plain query, so a page is read by the static
rank's fast field (tantivy_paging.py) instead of scoring every match: at a million products a
common word matches tens of thousands. A product's place depends only on itself and the
query, never on the rest of the index, so a page's `Position` means the same after a commit
that adds other products. Filters are ANDed in: the category and the brand in the query, the
filters on a product's own numbers (price, stock, rating) as `Checks` on the hits of a page.
A word with typos or as a prefix is asked for as the index's terms it stands for
(tantivy_terms.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tantivy
from tantivy import FieldType, Occur, Query

from integrations.search import tantivy_schema as fields
from integrations.search.engine import SearchFilters
from integrations.search.tantivy_terms import Terms

TITLE_FIELDS = (fields.NAME, fields.BRAND_TEXT, fields.CATEGORY_TEXT)
EXACT_FIELDS = (*TITLE_FIELDS, fields.DESCRIPTION)
LOOSE_FIELDS = (fields.NAME_WORDS, fields.LABEL_WORDS)


@dataclass(frozen=True)
class Level:
    """Where every word must match for a product to rank at this level."""

    number: int  # higher ranks first; fixed per level, so positions keep their meaning
    exact: tuple[str, ...]  # the fields where a word counts as typed (stemmed)
    loose: bool  # also with typos, or as a prefix for the last word, in the titles' words


LEVELS = (
    Level(3, (fields.NAME,), loose=False),
    Level(2, TITLE_FIELDS, loose=False),
    Level(1, TITLE_FIELDS, loose=True),
    Level(0, EXACT_FIELDS, loose=True),
)
MAX_WORDS = 8
MIN_PREFIX_LENGTH = 2
SHORT_PREFIX_LENGTH = 4  # shorter prefixes begin too many words to count as a short read
# Dropped from the text unless nothing else is left: "case for phone" means "case phone".
_STOPWORDS = "a an and are as at be by for from in is it of on or the to with without"
STOPWORDS = frozenset(_STOPWORDS.split())


def typo_distance(word: str) -> int:
    if len(word) >= 8:
        return 2
    return 1 if len(word) >= 4 else 0


@dataclass(frozen=True)
class QueryWord:
    word: str  # lowercased, accents folded
    stem: str
    typos: int  # the edit distance allowed; 0 when the word is in the index as typed
    prefix: bool  # the last word: it may be a prefix of a longer one
    # The exact fields whose terms include the stem (none: it matches loosely, or not at all).
    found_in: frozenset[str]
    frequency: int  # how many products have the stem in those fields, at most (doc_freq's sum)


def query_words(searcher: tantivy.Searcher, text: str) -> list[QueryWord]:
    """The shopper's words, each with how loosely it may match."""
    words = fields.PLAIN_ANALYZER.analyze(text)
    kept = [word for word in words if word not in STOPWORDS] or words
    kept = kept[:MAX_WORDS]
    result = []
    for position, word in enumerate(kept):
        stem = fields.stem(word)
        frequencies = {field: searcher.doc_freq(field, stem) for field in EXACT_FIELDS}
        found_in = frozenset(field for field, count in frequencies.items() if count)
        last = position == len(kept) - 1
        result.append(
            QueryWord(
                word=word,
                stem=stem,
                typos=0 if found_in else typo_distance(word),
                prefix=last and len(word) >= MIN_PREFIX_LENGTH,
                found_in=found_in,
                frequency=sum(frequencies.values()),
            )
        )
    return result


def few_matches(words: list[QueryWord], limit: int) -> bool:
    """Whether `words` surely match at most about `limit` products: every word as typed (no
    typos), the rarest in at most `limit`, and a last word long enough that few words begin
    with it. A page of such a search is a short read."""
    if not words or any(word.typos for word in words):
        return False
    if words[-1].prefix and len(words[-1].word) < SHORT_PREFIX_LENGTH:
        return False
    return min(word.frequency for word in words) <= limit


def _word_clauses(
    schema: tantivy.Schema, word: QueryWord, level: Level, terms: Terms
) -> list[Query]:
    clauses = [
        Query.term_query(schema, field, word.stem, index_option="basic")
        for field in level.exact
        if field in word.found_in
    ]
    if _loose(word, level):
        for field in LOOSE_FIELDS:
            clauses += loose_clauses(schema, terms, field, word.word, word.typos, word.prefix)
    return clauses


def loose_clauses(
    schema: tantivy.Schema, terms: Terms, field: str, word: str, typos: int, prefix: bool
) -> list[Query]:
    """`word` in `field` with `typos` edits (and as a prefix): a clause for each term it
    stands for (`tantivy_terms.py`), none when no term matches; Tantivy's fuzzy query when
    they are too many to ask for one by one."""
    expanded = terms.expand(field, word, typos, prefix=prefix)
    if expanded is None:
        return [Query.fuzzy_term_query(schema, field, word, typos, prefix=prefix)]
    return [Query.term_query(schema, field, term, index_option="basic") for term in expanded]


def _loose(word: QueryWord, level: Level) -> bool:
    return level.loose and (word.typos > 0 or word.prefix)


def level_queries(
    schema: tantivy.Schema, words: list[QueryWord], text: str, terms: Terms
) -> list[tuple[int, Query]]:
    """The text's levels that can hold products, best first, as (number, query): each query
    matches its level and every level above it (a level's own products are it AND NOT the one
    before; the last one matches the whole text). Every product at one level when there are no
    words (a list's facets), none when the text has no word the index could hold (only
    punctuation or symbols, or words longer than it keeps)."""
    if not words:
        return [(0, Query.all_query() if not text.strip() else Query.empty_query())]
    found: list[tuple[int, Query]] = []
    last_key = None
    for level in reversed(LEVELS):  # the widest first
        # What this level asks of each word; a level asking what the wider one did holds the
        # same products, which then rank here.
        key = tuple((frozenset(level.exact) & word.found_in, _loose(word, level)) for word in words)
        if not all(exact or loose for exact, loose in key):
            break  # a word matches nowhere at this level, nor at any above it
        query = every_word([_word_clauses(schema, word, level, terms) for word in words])
        if key == last_key:
            found[-1] = (level.number, query)
        else:
            found.append((level.number, query))
        last_key = key
    return found[::-1] or [(0, Query.empty_query())]


def every_word(per_word: list[list[Query]]) -> Query:
    """Products matching one of each word's clauses (none when a word has none)."""
    if not all(per_word):
        return Query.empty_query()
    words = [
        clauses[0]
        if len(clauses) == 1
        else Query.boolean_query([(Occur.Should, clause) for clause in clauses])
        for clauses in per_word
    ]
    return (
        words[0] if len(words) == 1 else Query.boolean_query([(Occur.Must, word) for word in words])
    )


def _range(
    schema: tantivy.Schema,
    field: str,
    field_type: FieldType,
    lower: float | None = None,
    upper: float | None = None,
    *,
    include_lower: bool = True,
    include_upper: bool = True,
) -> Query:
    return Query.range_query(
        schema,
        field,
        field_type,
        lower,
        upper,
        include_lower=include_lower,
        include_upper=include_upper,
    )


# The filters by the facet they narrow: a facet's counts leave out its own filter.
FilterKey = str
BRAND_KEY, CATEGORY_KEY, PRICE_KEY, RATING_KEY, STOCK_KEY = (
    "brand",
    "category",
    "price",
    "rating",
    "in_stock",
)


def filter_queries(schema: tantivy.Schema, filters: SearchFilters) -> dict[FilterKey, Query]:
    """Each filter that is set, as one query, keyed by what it narrows."""
    queries: dict[FilterKey, list[Query]] = {}

    def add(key: FilterKey, query: Query) -> None:
        queries.setdefault(key, []).append(query)

    if filters.category_id is not None:
        add(CATEGORY_KEY, Query.term_query(schema, fields.CATEGORY_ID, filters.category_id))
    if filters.subcategory_id is not None:
        add(CATEGORY_KEY, Query.term_query(schema, fields.SUBCATEGORY_ID, filters.subcategory_id))
    if filters.brand is not None:
        add(BRAND_KEY, Query.term_query(schema, fields.BRAND, filters.brand))
    if filters.price_min is not None or filters.price_max is not None:
        add(
            PRICE_KEY,
            _range(
                schema, fields.FINAL_PRICE, FieldType.Integer, filters.price_min, filters.price_max
            ),
        )
    if filters.in_stock is not None:
        add(STOCK_KEY, _in_stock(schema, filters.in_stock))
    if filters.min_rating is not None:
        add(RATING_KEY, _range(schema, fields.RATING, FieldType.Float, filters.min_rating))
    return {key: all_of(parts) for key, parts in queries.items()}


# The fields of `SearchFilters` each filter key is made from.
_FILTER_FIELDS: dict[FilterKey, tuple[str, ...]] = {
    CATEGORY_KEY: ("category_id", "subcategory_id"),
    BRAND_KEY: ("brand",),
    PRICE_KEY: ("price_min", "price_max"),
    STOCK_KEY: ("in_stock",),
    RATING_KEY: ("min_rating",),
}


def without(filters: SearchFilters, key: FilterKey | None) -> SearchFilters:
    """`filters` with the one `key` stands for unset (None: all of them as they are)."""
    if key is None:
        return filters
    return dataclasses.replace(filters, **dict.fromkeys(_FILTER_FIELDS[key]))


# The filters on a product's own numbers, which `Checks` can test on hits.
CHECKED_KEYS = frozenset((PRICE_KEY, RATING_KEY, STOCK_KEY))


@dataclass
class Checks:
    """The set filters on a product's own numbers (price, stock, rating), tested on a window of
    hits by their fast fields. As queries they are ranges or near-every-product postings that
    an intersection walks for every word's match (a column of a million values each at a
    million products); tested, they cost a read per hit. `query` is all of them as one query:
    for when a window holds too few hits that pass, and for the reads of one value's run
    (`tantivy_paging.field_page`). Made for one search: once a window held too few,
    `too_selective` sends the search's other windows (its lower levels) to `query` at once."""

    filters: SearchFilters
    query: Query
    too_selective: bool = False

    def passing(
        self,
        searcher: tantivy.Searcher,
        addresses: list[tantivy.DocAddress],
        ranks: list[int] | None = None,
    ) -> list[bool]:
        """Whether each hit passes every check (as `filter_queries` would have it). With the
        hits' static ranks, stock and most ratings are read off them: only the prices (from
        their bit-packed column), and the ratings a rank's rounding leaves in doubt, are read
        from the index, for the hits still passing."""
        keep = [True] * len(addresses)
        f = self.filters
        if f.in_stock is not None:
            wanted = f.in_stock
            if ranks is not None:
                keep = [fields.rank_in_stock(rank) is wanted for rank in ranks]
            else:
                keep = [s is wanted for s in searcher.fast_field_values(fields.IN_STOCK, addresses)]
        doubtful = keep  # whose rating is to be read: without ranks, every hit kept
        if f.min_rating is not None and ranks is not None:
            keep, doubtful = _rated(f.min_rating, ranks, keep)
        if f.price_min is not None or f.price_max is not None:
            low, high = f.price_min, f.price_max
            keep = _kept(
                searcher,
                fields.PRICE_CHECK,
                addresses,
                keep,
                lambda stored: (
                    stored is not None
                    and (low is None or fields.checked(stored) >= low)
                    and (high is None or fields.checked(stored) <= high)
                ),
            )
        if f.min_rating is not None:
            least = f.min_rating
            read = [k and d for k, d in zip(keep, doubtful, strict=True)]
            rated = _kept(
                searcher, fields.RATING, addresses, read, lambda r: r is not None and r >= least
            )
            keep = [k and (not r or ok) for k, r, ok in zip(keep, read, rated, strict=True)]
        return keep


def _rated(least: float, ranks: list[int], keep: list[bool]) -> tuple[list[bool], list[bool]]:
    """(kept, doubtful) after a minimum rating, on static ranks: a rank's rating, rounded to
    hundredths, drops a hit when below floor(least * 100) and keeps it when above
    ceil(least * 100); in between, the hit is kept in doubt (its rating to be read)."""
    above, below = math.ceil(least * 100), math.floor(least * 100)
    ratings = [fields.rank_rating(rank) for rank in ranks]
    kept = [k and rating >= below for k, rating in zip(keep, ratings, strict=True)]
    doubtful = [k and rating <= above for k, rating in zip(kept, ratings, strict=True)]
    return kept, doubtful


def _kept(
    searcher: tantivy.Searcher,
    field: str,
    addresses: list[tantivy.DocAddress],
    keep: list[bool],
    test: Callable[[Any], bool],
) -> list[bool]:
    """`keep`, with those kept also passing `test` on their `field` (read for those only)."""
    positions = [position for position, kept in enumerate(keep) if kept]
    read = [addresses[position] for position in positions]
    values = searcher.fast_field_values(field, read) if read else []
    passed = [False] * len(keep)
    for position, value in zip(positions, values, strict=True):
        passed[position] = test(value)
    return passed


def checks(filters: SearchFilters, queries: dict[FilterKey, Query]) -> Checks | None:
    """The checks among `queries` (from `filter_queries`), if any is set."""
    checked = [query for key, query in queries.items() if key in CHECKED_KEYS]
    return Checks(filters, all_of(checked)) if checked else None


def _in_stock(schema: tantivy.Schema, in_stock: bool) -> Query:
    out_of_stock = Query.term_query(schema, fields.IN_STOCK, False)
    if not in_stock:
        return out_of_stock
    # Every product but those out of stock: the few of them are skipped past, where most
    # products' postings would each be read (twice as fast with a word at a million products).
    return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, out_of_stock)])


def all_of(queries: list[Query], first: Query | None = None) -> Query:
    """`first` (if any) and every one of `queries`."""
    every = ([first] if first is not None else []) + queries
    if len(every) == 1:
        return every[0]
    return Query.boolean_query([(Occur.Must, query) for query in every])


def but_not(query: Query, excluded: Query) -> Query:
    return Query.boolean_query([(Occur.Must, query), (Occur.MustNot, excluded)])


def equals(schema: tantivy.Schema, field: str, field_type: FieldType, value: float) -> Query:
    return _range(schema, field, field_type, value, value)


def beyond(
    schema: tantivy.Schema, field: str, field_type: FieldType, value: float, *, descending: bool
) -> Query:
    """Values strictly after `value` in the order (below it when descending)."""
    if descending:
        return _range(schema, field, field_type, upper=value, include_upper=False)
    return _range(schema, field, field_type, lower=value, include_lower=False)


def at_or_beyond(
    schema: tantivy.Schema, field: str, field_type: FieldType, value: float, *, descending: bool
) -> Query:
    """`value` and the values after it in the order (below it when descending)."""
    if descending:
        return _range(schema, field, field_type, upper=value)
    return _range(schema, field, field_type, lower=value)


def ids_after(schema: tantivy.Schema, id_: str) -> Query:
    """Ids greater than `id_` (as hex strings compare): two ranges over its integer halves."""
    high, low = fields.split_id(id_)
    unsigned = FieldType.Unsigned
    return Query.boolean_query(
        [
            (Occur.Should, beyond(schema, fields.ID_HIGH, unsigned, high, descending=False)),
            (
                Occur.Should,
                all_of(
                    [
                        equals(schema, fields.ID_HIGH, unsigned, high),
                        beyond(schema, fields.ID_LOW, unsigned, low, descending=False),
                    ]
                ),
            ),
        ]
    )
