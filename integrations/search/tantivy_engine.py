"""`TantivySearch`: the search engine on a Tantivy index in a local directory.

The index lives in `<directory>/v<SCHEMA_VERSION>/`, beside `state.json` (the schema version and
the change stream's resume point of the last commit). Tantivy's commit takes no payload, so the
state is written (atomically, by rename) right after each commit: a crash between the two leaves
an older resume point, and replaying changes that are already in the index is harmless (upserts
and deletes by id).

One process opens the index `writable` (the follower; Tantivy's lock file refuses a second
writer); any number open it to read. A reader checks the index's meta file before each request
and reloads when a commit changed it, so it sees a commit from its next request on.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import tantivy
from tantivy import Query

from integrations.search import tantivy_paging as paging
from integrations.search import tantivy_queries as queries
from integrations.search import tantivy_schema as fields
from integrations.search.engine import (
    Position,
    SearchDocument,
    SearchEngine,
    SearchEngineUnavailableError,
    SearchFilters,
    SearchHit,
    SearchOrder,
    SearchPage,
    SearchRequest,
    Suggestion,
    SuggestionKind,
    no_highlights,
)
from integrations.search.tantivy_facets import facet_counts
from integrations.search.tantivy_highlight import Highlighter
from integrations.search.tantivy_terms import Terms

T = TypeVar("T")

STATE_FILE = "state.json"
META_FILE = "meta.json"
DEFAULT_WRITER_HEAP_BYTES = 128_000_000
# Each kind of suggestion gets at least this share of the list when it has enough.
SUGGESTION_SHARE = 4
# A page of a search whose rarest word is in at most this many products runs on the event loop
# (`TantivySearch.search`): ordering that many takes a few milliseconds at most.
INLINE_MATCHES = 200_000
# Suggested brands and categories are counted live one by one up to this many terms, then all
# at once (`_suggested_terms`).
MAX_TERMS_COUNTED_ONE_BY_ONE = 32


@dataclass
class _Commit:
    """What is worked out for one commit of the index and kept for every request on it until
    the next: the terms loose words stand for, and the facet aggregations of lists without text
    (`facet_counts`)."""

    terms: Terms
    every_product_counts: dict[tuple[SearchFilters, str], Any] = field(default_factory=dict)


class IndexFound(enum.StrEnum):
    """What a writer found when it opened the directory (`TantivySearch.found`)."""

    CURRENT = "current"  # an index of this schema version, committed at least once
    MISSING = "missing"  # none (or never committed): created empty
    OTHER_SCHEMA = "other_schema"  # only another version's: created empty beside it


class SearchIndexLockedError(Exception):
    """Another process holds the index's writer lock (a follower is running)."""


class TantivySearch:
    """The `SearchEngine` on Tantivy. Open it with `TantivySearch.open`."""

    name = "tantivy"

    def __init__(self, directory: Path, *, writable: bool, writer_heap_bytes: int) -> None:
        self._root = directory
        self._directory = directory / f"v{fields.SCHEMA_VERSION}"
        self._schema = fields.build_schema()
        self._index: tantivy.Index | None = None
        self._meta_stamp: tuple[int, int, int] | None = None
        self._latest: _Commit | None = None  # of the latest searcher
        # Fields found with too many terms to hold: not read again at later commits.
        self._oversized_fields: set[str] = set()
        self._writer: tantivy.IndexWriter | None = None
        self._reader_lock = threading.Lock()
        self._writer_lock = threading.Lock()
        self.found = IndexFound.CURRENT
        if writable:
            self._open_writer(writer_heap_bytes)

    @classmethod
    async def open(
        cls,
        directory: Path,
        *,
        writable: bool = False,
        writer_heap_bytes: int = DEFAULT_WRITER_HEAP_BYTES,
    ) -> TantivySearch:
        """A reader, or the writer (which creates the index when it finds none of this schema
        version: `found` says which, and `resume_point()` is then None, so the follower
        rebuilds). Raises `SearchIndexLockedError` when another writer holds the index."""
        return await asyncio.to_thread(
            cls, directory, writable=writable, writer_heap_bytes=writer_heap_bytes
        )

    @classmethod
    def reader(cls, directory: Path) -> TantivySearch:
        """A reader, without touching the disk yet: it opens the index at its first search."""
        return cls(directory, writable=False, writer_heap_bytes=0)

    def _open_writer(self, heap_bytes: int) -> None:
        # Built: committed at least once (the state is written after each commit).
        if not (self._directory / STATE_FILE).exists():
            others = [p for p in _versions(self._root) if p != self._directory]
            self.found = IndexFound.OTHER_SCHEMA if others else IndexFound.MISSING
            self._directory.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(self._schema, str(self._directory), reuse=True)
        fields.register_analyzers(index)
        index.config_reader(reload_policy="Manual")
        try:
            self._writer = index.writer(heap_size=heap_bytes, num_threads=1)
        except ValueError as error:
            if "lock" in str(error).lower():
                raise SearchIndexLockedError(f"{self._directory}: {error}") from error
            raise
        self._index = index
        self._meta_stamp = self._stamp()

    # Reading.

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = (self._directory / META_FILE).stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _searcher(self) -> tuple[tantivy.Searcher, _Commit]:
        """The latest committed index, with what is kept for that commit: one stat of its meta
        file per request. An index is there to read once it has been committed (built) at
        least once."""
        with self._reader_lock:
            stamp = self._stamp()
            if self._index is None:
                if stamp is None or not (self._directory / STATE_FILE).exists():
                    raise SearchEngineUnavailableError(f"no search index in {self._directory}")
                index = tantivy.Index.open(str(self._directory))
                fields.register_analyzers(index)
                index.config_reader(reload_policy="Manual")
                self._index, self._meta_stamp, self._latest = index, stamp, None
            elif self.found is not IndexFound.CURRENT:
                raise SearchEngineUnavailableError(f"{self._directory} is not built yet")
            elif stamp is not None and stamp != self._meta_stamp:
                self._index.reload()
                self._meta_stamp, self._latest = stamp, None
            searcher = self._index.searcher()
            if self._latest is None:
                self._latest = _Commit(Terms(searcher, oversized=self._oversized_fields))
            return searcher, self._latest

    async def search(self, request: SearchRequest) -> SearchPage:
        searcher, commit = self._searcher()
        words = queries.query_words(searcher, request.text)
        if (
            request.with_page
            and not request.with_total
            and request.facet_price_bands is None
            and queries.few_matches(words, INLINE_MATCHES)
        ):
            # On the event loop: cheaper than a thread's hand-over for a short read.
            return self._search(request, searcher, commit, words)
        # Counts, facets, and pages of many matches.
        return await _run(self._search, request, searcher, commit, words)

    def _search(
        self,
        request: SearchRequest,
        searcher: tantivy.Searcher,
        commit: _Commit,
        words: list[queries.QueryWord],
    ) -> SearchPage:
        levels = queries.level_queries(self._schema, words, request.text, commit.terms)
        text = levels[-1][1]
        filters = queries.filter_queries(self._schema, request.filters)
        checks = queries.checks(request.filters, filters)
        # The page tests the checked filters on its hits; counts intersect every filter.
        conditions = [q for key, q in filters.items() if key not in queries.CHECKED_KEYS]
        total = None
        if request.with_total:
            total = paging.count(searcher, queries.all_of(list(filters.values()), text))
        want = request.limit + 1
        found: list[paging.Hit] = []
        if request.with_page and request.order is SearchOrder.RELEVANCE:
            found = paging.relevance_page(
                searcher, self._schema, levels, conditions, request.after, want, checks
            )
        elif request.with_page:
            found = paging.field_page(
                searcher,
                self._schema,
                queries.all_of(conditions, text),
                paging.ORDER_FIELDS[request.order],
                descending=request.descending,
                after=request.after,
                want=want,
                checks=checks,
            )
        page = found[: request.limit]
        facets = None
        if request.facet_price_bands is not None:
            every_product = not words and not request.text.strip()
            facets = facet_counts(
                searcher,
                text,
                filters,
                request.facet_price_bands,
                every_product_counts=commit.every_product_counts if every_product else None,
                search_filters=request.filters,
            )
        hits = [SearchHit(hit.id, Position(hit.value, hit.id)) for hit in page]
        return SearchPage(
            hits=hits,
            has_more=len(found) > request.limit,
            total=total,
            facets=facets,
            highlight=Highlighter(words) if words else no_highlights,
        )

    async def suggest(self, prefix: str, limit: int) -> list[Suggestion]:
        # In a thread: a word from 4 letters on may have typos, worked out against the index's
        # terms when first seen (`tantivy_terms.py`), and short prefixes begin many words.
        return await _run(self._suggest, prefix, limit)

    def _suggest(self, prefix: str, limit: int) -> list[Suggestion]:
        words = fields.PLAIN_ANALYZER.analyze(prefix)[: queries.MAX_WORDS]
        if words and len(words[-1]) < queries.MIN_PREFIX_LENGTH:
            words = words[:-1]  # one letter starts too many words to be worth completing
        if not words or limit <= 0:
            return []
        searcher, commit = self._searcher()
        key = " ".join(words)
        categories = [
            Suggestion(SuggestionKind.CATEGORY, display, id_)
            for id_, display in _suggested_terms(
                searcher, self._schema, fields.CATEGORY_SUGGEST, key, limit
            )
        ]
        brands = [
            Suggestion(SuggestionKind.BRAND, display, None)
            for _, display in _suggested_terms(
                searcher, self._schema, fields.BRAND_SUGGEST, key, limit
            )
        ]
        products = self._product_suggestions(searcher, commit.terms, words, limit)
        share = max(1, limit // SUGGESTION_SHARE)
        first = categories[:share] + brands[:share]
        rest = products + categories[share:] + brands[share:]
        return (first + rest)[:limit]

    def _product_suggestions(
        self, searcher: tantivy.Searcher, terms: Terms, words: list[str], limit: int
    ) -> list[Suggestion]:
        """Names with every word, the last as a prefix: as typed first, then with typos (from
        4 letters); in stock and best rated first within each; each name once."""

        def every_word(typos: bool) -> Query:
            last = len(words) - 1
            return queries.every_word(
                [
                    queries.loose_clauses(
                        self._schema,
                        terms,
                        fields.NAME_WORDS,
                        word,
                        queries.typo_distance(word) if typos else 0,
                        prefix=position == last,
                    )
                    for position, word in enumerate(words)
                ]
            )

        levels = [(1, every_word(typos=False))]
        if any(queries.typo_distance(word) for word in words):  # else the same query again
            levels.append((0, every_word(typos=True)))
        found = paging.relevance_page(
            searcher, self._schema, levels, [], None, limit * SUGGESTION_SHARE
        )
        suggestions: list[Suggestion] = []
        seen: set[str] = set()
        for hit in found:
            name = str(searcher.doc(hit.address).get_first(fields.NAME) or "")
            if name.casefold() not in seen:
                seen.add(name.casefold())
                suggestions.append(Suggestion(SuggestionKind.PRODUCT, name, hit.id))
        return suggestions[:limit]

    # Writing (the writer only).

    def _writing(self) -> tantivy.IndexWriter:
        if self._writer is None:
            raise RuntimeError("this TantivySearch was opened to read only")
        return self._writer

    async def upsert(self, documents: list[SearchDocument]) -> None:
        """Raises ValueError, writing none of them, if an id is not an ObjectId in hex or a
        price is not from 0 to below 2**50 minor units."""
        await _run(self._upsert, documents)

    def _upsert(self, documents: list[SearchDocument]) -> None:
        built = [fields.to_document(document) for document in documents]
        with self._writer_lock:
            writer = self._writing()
            for document, tantivy_document in zip(documents, built, strict=True):
                writer.delete_documents_by_term(fields.ID, document.id)
                writer.add_document(tantivy_document)

    async def delete(self, ids: list[str]) -> None:
        await _run(self._delete, ids)

    def _delete(self, ids: list[str]) -> None:
        with self._writer_lock:
            writer = self._writing()
            for id_ in ids:
                writer.delete_documents_by_term(fields.ID, id_)

    async def clear(self) -> None:
        await _run(self._clear)

    def _clear(self) -> None:
        with self._writer_lock:
            self._writing().delete_all_documents()

    async def commit(self, resume_point: str | None) -> None:
        await _run(self._commit, resume_point)

    def _commit(self, resume_point: str | None) -> None:
        with self._writer_lock:
            self._writing().commit()
            state = {"schema_version": fields.SCHEMA_VERSION, "resume_point": resume_point}
            temporary = self._directory / f"{STATE_FILE}.tmp"
            temporary.write_text(json.dumps(state))
            os.replace(temporary, self._directory / STATE_FILE)
            if self.found is not IndexFound.CURRENT:
                # The first commit of this version: the older versions' indexes go.
                for other in _versions(self._root):
                    if other != self._directory:
                        shutil.rmtree(other, ignore_errors=True)
                self.found = IndexFound.CURRENT
        with self._reader_lock:
            assert self._index is not None
            self._index.reload()
            self._meta_stamp, self._latest = self._stamp(), None

    async def resume_point(self) -> str | None:
        return await _run(self._resume_point)

    def _resume_point(self) -> str | None:
        try:
            state = json.loads((self._directory / STATE_FILE).read_text())
        except FileNotFoundError:
            return None
        if state.get("schema_version") != fields.SCHEMA_VERSION:
            return None
        point = state.get("resume_point")
        return str(point) if point is not None else None

    async def close(self) -> None:
        await _run(self._close)

    def _close(self) -> None:
        with self._writer_lock:
            if self._writer is not None:
                # Uncommitted writes are dropped; the lock goes once merges finish.
                self._writer.rollback()
                self._writer.wait_merging_threads()
                self._writer = None
        with self._reader_lock:
            self._index, self._latest = None, None


def _suggested_terms(
    searcher: tantivy.Searcher, schema: tantivy.Schema, field: str, key: str, limit: int
) -> list[tuple[str, str]]:
    """(extra, display) of the suggestion terms starting with `key`, most products first, each
    once; only terms of live products count."""
    # The dictionary's counts include deleted documents until their segment is merged, and a
    # live count filtered by every document costs milliseconds at a million products whatever
    # the prefix. So: terms by their dictionary counts, each counted live in turn, until no
    # later term (its live count at most its dictionary count) could place; past
    # MAX_TERMS_COUNTED_ONE_BY_ONE (a long tail of equal counts), every term at once.
    terms = searcher.terms_with_prefix(field, key)
    counted: dict[tuple[str, str], int] = {}
    for position, (term, upper_bound) in enumerate(terms):
        if len(counted) >= limit and upper_bound < heapq.nlargest(limit, counted.values())[-1]:
            break
        if position == MAX_TERMS_COUNTED_ONE_BY_ONE:
            counted = {}
            terms = searcher.terms_with_prefix(field, key, filter_query=Query.all_query())
            for every_term, live in terms:
                _count_suggestion(counted, every_term, live)
            break
        live = paging.count(searcher, Query.term_query(schema, field, term))
        _count_suggestion(counted, term, live)
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0][1]))
    return [pair for pair, _ in ranked[:limit]]


def _count_suggestion(counted: dict[tuple[str, str], int], term: str, live: int) -> None:
    if live > 0:
        _, extra, display = term.split(fields.SUGGEST_SEPARATOR, 2)
        # A name keyed by two of its words that both match counts once.
        counted[(extra, display)] = max(counted.get((extra, display), 0), live)


def _versions(root: Path) -> list[Path]:
    """The index directories of every schema version under `root`."""
    return [path for path in root.glob("v*") if path.name[1:].isdigit()]


async def _run(function: Callable[..., T], *args: object) -> T:
    # In a thread: what grows with the matches or the index (counts, facets, writes, commits)
    # would hold the event loop too long; Tantivy works outside the GIL meanwhile. The thread
    # costs ~0.25 ms a call.
    return await asyncio.to_thread(function, *args)


# mypy holds the class to the interface here.
_CONFORMS: type[SearchEngine] = TantivySearch
