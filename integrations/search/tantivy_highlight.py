"""Highlights: the words of a hit's name and description that matched, as character ranges.

Tantivy's SnippetGenerator marks only the terms a query lists, so the typo and prefix matches
("hedphones" for "Headphones", the point of those features) would go unmarked, it counts in
UTF-8 bytes, and it reads the text from the index's store. Here the text the caller shows (from
MongoDB) is split into the index's words, and each word is matched as the query matched it: same
stem, within the word's typo distance, or starting with the last word.
"""

from __future__ import annotations

import functools
import re

from integrations.search import tantivy_schema as fields
from integrations.search.engine import Highlight
from integrations.search.tantivy_queries import QueryWord
from integrations.search.tantivy_terms import matches

DESCRIPTION_FRAGMENT_CHARS = 160
LEAD_CHARS = 30  # context kept before a description's first match
# The index's words (its tokenizer's pattern), with their offsets in code points.
_WORD = re.compile(fields.WORD_PATTERN)


@functools.lru_cache(maxsize=65_536)
def _plain(token: str) -> str:
    # As the index's plain analyser writes a word (lowercased, accents folded); "" for one too
    # long to index. A shop's words are few: worth remembering.
    analyzed = fields.PLAIN_ANALYZER.analyze(token)
    return analyzed[0] if analyzed else ""


@functools.lru_cache(maxsize=65_536)
def _matched(word_text: str, word: str, stem: str, typos: int, prefix: bool) -> bool:
    """Whether a word of the text, as the plain analyser writes it, matched one query word
    (`word`, `stem`, `typos` and `prefix` are its `QueryWord`'s). Remembered across requests,
    word by word: a page's words and a shop's searches repeat."""
    if stem == fields.stem(word_text):
        return True
    if not typos:
        return prefix and word_text.startswith(word)
    return matches(word, word_text, typos, prefix=prefix)  # as the search matched it


class Highlighter:
    """Marks up text as one search's words matched it; made once per search, called for each
    product of its page (so each distinct word of the page is looked up once)."""

    def __init__(self, words: list[QueryWord]) -> None:
        self._words = [(word.word, word.stem, word.typos, word.prefix) for word in words]
        self._matched: dict[str, bool] = {}

    def _matches(self, token: str) -> bool:
        matched = self._matched.get(token)
        if matched is None:
            word_text = _plain(token)
            matched = self._matched[token] = bool(word_text) and any(
                _matched(word_text, *word) for word in self._words
            )
        return matched

    def highlight(self, text: str, *, fragment_chars: int | None) -> Highlight | None:
        """The fragment of `text` around its matches (all of it when `fragment_chars` is
        None) and their ranges in it; None when no word matched."""
        # The distinct words first (most texts have none that matched), then where they are.
        matched = {word for word in set(_WORD.findall(text)) if self._matches(word)}
        if not matched:
            return None
        ranges = [found.span() for found in _WORD.finditer(text) if found[0] in matched]
        start, end = 0, len(text)
        if fragment_chars is not None and len(text) > fragment_chars:
            start = max(0, ranges[0][0] - LEAD_CHARS)
            # Begin at a word: after the last space before the start.
            space = text.rfind(" ", 0, start)
            start = 0 if start == 0 or space < 0 else space + 1
            end = min(len(text), start + fragment_chars)
        inside = tuple((begin - start, finish - start) for begin, finish in ranges if finish <= end)
        return Highlight(fragment=text[start:end], ranges=inside)

    def __call__(self, name: str, description: str) -> dict[str, Highlight]:
        found = {
            "name": self.highlight(name, fragment_chars=None),
            "description": self.highlight(description, fragment_chars=DESCRIPTION_FRAGMENT_CHARS),
        }
        return {field: value for field, value in found.items() if value is not None}
