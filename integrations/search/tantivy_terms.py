"""A word's typo and prefix matches, expanded into the index's own terms.

Tantivy's fuzzy term query walks the term dictionary with a Levenshtein automaton, then marks
every document of every term it accepts in a bit set as big as each segment: at a million
products that fill and its scan cost more than reading a few terms' postings. Written as plain
term queries, the same terms skip along their postings instead (README, "Search"). So a loose
word is matched against the field's terms here (`matches`) and, when it matches a few, the
query asks for those; past `MAX_EXPANSION` a bit set is the cheaper read, and the fuzzy query
matches the word.

`matches` is the rule Tantivy's automaton documents: a word with typos matches a term within
that many edits (a swap of neighbours costing one), and as a prefix, a term one of whose
beginnings is. Tantivy's automaton at two typos, as a prefix, accepts a few less (some
beginnings shorter than the word): a word expanded here may match a few terms the fuzzy query
would not.

A `Terms` belongs to one commit of the index (one searcher): a commit that brings new words
brings a new `Terms`, so an expansion is never stale. It reads a field's dictionary once, when
first asked, and keeps what it expanded (at most `MAX_REMEMBERED` words, each at most
`MAX_EXPANSION` terms). A field with more terms than `MAX_TERMS` is not held: its words are
matched by the fuzzy query, at that commit and the later ones of the process (a catalog's
words seldom shrink by thousands).
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


class Terms:
    """The terms a loose word stands for in one searcher's index (see the module)."""

    def __init__(self, searcher: tantivy.Searcher, *, oversized: set[str] | None = None) -> None:
        """`oversized`: the fields found with more than `MAX_TERMS` terms (at an earlier
        commit, say), not read; a field found so here is added to it."""
        self._searcher = searcher
        self._fields: dict[str, list[str] | None] = {}  # each field's terms, sorted
        self._expanded: dict[tuple[str, str, int, bool], tuple[str, ...] | None] = {}
        self._oversized = set() if oversized is None else oversized
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # one read of a field's terms, whoever asks

    def expand(self, field: str, word: str, typos: int, *, prefix: bool) -> tuple[str, ...] | None:
        """The terms of `field` that `word` `matches`, sorted; None when they are more than
        `MAX_EXPANSION`, or the field's terms more than `MAX_TERMS`."""
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
            # The terms it begins: the dictionary walks just those.
            counted = self._searcher.terms_with_prefix(field, word, limit=MAX_EXPANSION + 1)
            return _few(term for term, _ in counted)
        if typos == 0:
            return (word,) if self._searcher.doc_freq(field, word) else ()
        held = self._field(field)
        if held is None:
            return None
        if not prefix:
            return _few(_within(word, held, typos))
        # A term matches when one of its beginnings is within the typos: the distinct
        # beginnings of each length that could be are tried, then the terms they begin.
        found: set[str] = set()
        for length in range(max(0, len(word) - typos), len(word) + typos + 1):
            beginnings = sorted({term[:length] for term in held})
            for start in _within(word, beginnings, typos):
                found.update(_beginning_with(held, start))
                if len(found) > MAX_EXPANSION:
                    return None
        return tuple(sorted(found))

    def _field(self, field: str) -> list[str] | None:
        if field in self._oversized:
            return None
        with self._reading:
            if field not in self._fields:
                every = self._searcher.terms_with_prefix(field, "", limit=MAX_TERMS + 1)
                if len(every) > MAX_TERMS:
                    self._oversized.add(field)
                    self._fields[field] = None
                else:
                    self._fields[field] = sorted(term for term, _ in every)
            return self._fields[field]


def _few(terms: Iterable[str]) -> tuple[str, ...] | None:
    found = sorted(terms)
    return tuple(found) if len(found) <= MAX_EXPANSION else None


def _beginning_with(terms: list[str], start: str) -> list[str]:
    """The terms (sorted) that begin with `start`."""
    first = last = bisect.bisect_left(terms, start)
    while last < len(terms) and terms[last].startswith(start):
        last += 1
    return terms[first:last]


def _within(word: str, candidates: list[str], typos: int) -> list[str]:
    """The candidates within `typos` edits of `word`."""
    found = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=typos, limit=None)
    return [candidate for candidate, _, _ in found]
