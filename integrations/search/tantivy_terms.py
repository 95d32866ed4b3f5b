"""A word's typo and prefix matches, expanded into the index's own terms.

Tantivy's fuzzy term query walks the term dictionary with a Levenshtein automaton, then marks
every document of every term it accepts in a bit set as big as each segment: at a million
products that fill and its scan cost more than reading a few terms' postings. Written as plain
term queries, the same terms skip along their postings instead ("wireles hedphones": 2.0 ms
fuzzy, 0.6 ms expanded). So a loose word is matched against the field's terms here (`matches`)
and the query asks for the terms it matched: one by one when they are few, as one term set
(Tantivy's automaton over them, a bit set again) when they are many.

`matches` is the rule Tantivy's automaton documents: a word with typos matches a term within
that many edits (a swap of neighbours costing one), and as a prefix, a term one of whose
beginnings is. Tantivy's automaton at two typos, as a prefix, accepts a few less (some
beginnings shorter than the word); the rule here is the documented one, whichever the query.

A `Terms` belongs to one commit of the index (one searcher): a commit that brings new words
brings a new `Terms`, so an expansion is never stale. It reads a field's dictionary once, when
first asked, and keeps what it expanded. A field with more terms than `MAX_TERMS` is not held:
its words are matched by Tantivy's fuzzy query.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

import tantivy
from rapidfuzz import process
from rapidfuzz.distance import OSA

# Up to this many terms are asked for one by one; past a few, a bit set is the cheaper read.
MAX_EXPANSION = 32
# A field with more terms than this is not read into memory (the fuzzy query matches it).
MAX_TERMS = 20_000
MAX_REMEMBERED = 4_096  # expansions kept per commit, the latest


def matches(word: str, term: str, typos: int, *, prefix: bool) -> bool:
    """Whether `word` with `typos` edits (a swap of neighbours costing one) is `term`, or
    with `prefix`, one of its beginnings."""
    if not prefix:
        return OSA.distance(word, term, score_cutoff=typos) <= typos
    lengths = range(max(0, len(word) - typos), min(len(term), len(word) + typos) + 1)
    return any(OSA.distance(word, term[:n], score_cutoff=typos) <= typos for n in lengths)


class _FieldTerms:
    """One field's terms, sorted, and their distinct beginnings of each length asked for."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.sorted = sorted(terms)
        self._beginnings: dict[int, list[str]] = {}

    def beginning_with(self, start: str) -> list[str]:
        first = bisect.bisect_left(self.sorted, start)
        last = first
        while last < len(self.sorted) and self.sorted[last].startswith(start):
            last += 1
        return self.sorted[first:last]

    def beginnings(self, length: int) -> list[str]:
        """Each term's first `length` characters (the whole term when shorter), once each."""
        found = self._beginnings.get(length)
        if found is None:
            found = self._beginnings[length] = sorted({term[:length] for term in self.sorted})
        return found


class Terms:
    """The terms a loose word stands for in one searcher's index (see the module)."""

    def __init__(self, searcher: tantivy.Searcher) -> None:
        self._searcher = searcher
        self._fields: dict[str, _FieldTerms | None] = {}
        self._expanded: dict[tuple[str, str, int, bool], tuple[str, ...] | None] = {}
        self._lock = threading.Lock()

    def expand(self, field: str, word: str, typos: int, *, prefix: bool) -> tuple[str, ...] | None:
        """The terms of `field` that `word` `matches`, sorted; None when the field's terms
        are too many to hold, or (as a prefix with no typos) the terms it begins are more than
        `MAX_EXPANSION`: the query then matches it itself, as the rule has it."""
        key = (field, word, typos, prefix)
        with self._lock:
            if key in self._expanded:
                return self._expanded[key]
        found = self._expand(field, word, typos, prefix=prefix)
        with self._lock:
            if len(self._expanded) >= MAX_REMEMBERED:
                self._expanded.clear()
            self._expanded[key] = found
        return found

    def _expand(self, field: str, word: str, typos: int, *, prefix: bool) -> tuple[str, ...] | None:
        if typos == 0 and prefix:
            # The terms it begins: the dictionary walks just those (Tantivy's prefix query
            # reads many at once the cheaper way).
            counted = self._searcher.terms_with_prefix(field, word, limit=MAX_EXPANSION + 1)
            terms = [term for term, _ in counted]
            return tuple(sorted(terms)) if len(terms) <= MAX_EXPANSION else None
        if typos == 0:
            return (word,) if self._searcher.doc_freq(field, word) else ()
        held = self._field(field)
        if held is None:
            return None
        if not prefix:
            return tuple(sorted(_within(word, held.sorted, typos)))
        # A term matches when one of its beginnings is within the typos: each distinct
        # beginning of a length that could be is tried once, then the terms it begins.
        found: set[str] = set()
        for length in range(max(0, len(word) - typos), len(word) + typos + 1):
            for start in _within(word, held.beginnings(length), typos):
                found.update(held.beginning_with(start))
        return tuple(sorted(found))

    def _field(self, field: str) -> _FieldTerms | None:
        with self._lock:
            if field in self._fields:
                return self._fields[field]
        every = self._searcher.terms_with_prefix(field, "", limit=MAX_TERMS + 1)
        held = _FieldTerms(term for term, _ in every) if len(every) <= MAX_TERMS else None
        with self._lock:
            self._fields[field] = held
        return held


def _within(word: str, candidates: list[str], typos: int) -> list[str]:
    """The candidates within `typos` edits of `word`."""
    found = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=typos, limit=None)
    return [candidate for candidate, _, _ in found]
