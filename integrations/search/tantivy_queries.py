"""Tantivy queries built from what the shopper typed and the filters they chose.

Never `parse_query` on user text: its syntax (`:`, `AND`, `(`) is not the shopper's. The text is
split by the index's own analysers and every word must match, in some field:

- exactly (stemmed), scored by field: name 8, brand 5, category names 4, description 2;
- with typos, when the word is not in the index at all: edit distance 1 from 4 letters,
  2 from 8, in the product's name (3) or its brand and category names (2);
- the last word also as a prefix (with the same typo allowance), for a shopper still typing.

A word that is in the index as typed gets no typo matches ("case" does not find "cast").

Every score is a constant per matching clause, never BM25: a product's score depends only on
itself and the query, not on the rest of the index, so a page's `Position` means the same after
a commit that adds other products. Filters are ANDed in with no score.
"""

from __future__ import annotations

from dataclasses import dataclass

import tantivy
from tantivy import FieldType, Occur, Query

from integrations.search import tantivy_schema as fields
from integrations.search.engine import SearchFilters

FIELD_SCORES = (
    (fields.NAME, 8.0),
    (fields.BRAND_TEXT, 5.0),
    (fields.CATEGORY_TEXT, 4.0),
    (fields.DESCRIPTION, 2.0),
)
TYPO_SCORES = ((fields.NAME_WORDS, 3.0), (fields.LABEL_WORDS, 2.0))
# A word found in several fields scores its best field plus this share of the others.
OTHER_FIELDS_SHARE = 0.1
MAX_WORDS = 8
MIN_PREFIX_LENGTH = 2
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


def query_words(searcher: tantivy.Searcher, text: str) -> list[QueryWord]:
    """The shopper's words, each with how loosely it may match."""
    words = fields.PLAIN_ANALYZER.analyze(text)
    kept = [word for word in words if word not in STOPWORDS] or words
    kept = kept[:MAX_WORDS]
    result = []
    for position, word in enumerate(kept):
        stem = fields.stem(word)
        known = any(searcher.doc_freq(field, stem) for field, _ in FIELD_SCORES)
        last = position == len(kept) - 1
        result.append(
            QueryWord(
                word=word,
                stem=stem,
                typos=0 if known else typo_distance(word),
                prefix=last and len(word) >= MIN_PREFIX_LENGTH,
            )
        )
    return result


def _constant(query: Query, score: float) -> Query:
    return Query.const_score_query(query, score)


def word_query(schema: tantivy.Schema, word: QueryWord) -> Query:
    clauses = [
        _constant(Query.term_query(schema, field, word.stem, index_option="basic"), score)
        for field, score in FIELD_SCORES
    ]
    if word.typos:
        clauses += [
            _constant(Query.fuzzy_term_query(schema, field, word.word, word.typos), score)
            for field, score in TYPO_SCORES
        ]
    if word.prefix:
        clauses += [
            _constant(
                Query.fuzzy_term_query(schema, field, word.word, word.typos, prefix=True), score
            )
            for field, score in TYPO_SCORES
        ]
    return Query.disjunction_max_query(clauses, OTHER_FIELDS_SHARE)


def text_query(schema: tantivy.Schema, words: list[QueryWord], text: str) -> Query:
    """Every word of `text` (`words`, from `query_words`) matching; every product when there is
    no text (a list's facets), none when the text has no word the index could hold (only
    punctuation or symbols, or words longer than it keeps)."""
    if not words:
        return _constant(Query.all_query() if not text.strip() else Query.empty_query(), 1.0)
    return Query.boolean_query([(Occur.Must, word_query(schema, word)) for word in words])


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
        add(STOCK_KEY, Query.term_query(schema, fields.IN_STOCK, filters.in_stock))
    if filters.min_rating is not None:
        add(RATING_KEY, _range(schema, fields.RATING, FieldType.Float, filters.min_rating))
    return {key: all_of(parts) for key, parts in queries.items()}


def all_of(queries: list[Query], scored: Query | None = None) -> Query:
    """`scored` (if any) with every one of `queries` as an unscored condition."""
    if scored is not None and not queries:
        return scored
    clauses = [(Occur.Must, _constant(query, 0.0)) for query in queries]
    if scored is not None:
        clauses.insert(0, (Occur.Must, scored))
    return Query.boolean_query(clauses)


def equals(schema: tantivy.Schema, field: str, field_type: FieldType, value: float) -> Query:
    return _range(schema, field, field_type, value, value)


def beyond(
    schema: tantivy.Schema, field: str, field_type: FieldType, value: float, *, descending: bool
) -> Query:
    """Values strictly after `value` in the order (below it when descending)."""
    if descending:
        return _range(schema, field, field_type, upper=value, include_upper=False)
    return _range(schema, field, field_type, lower=value, include_lower=False)


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
