"""Typo and prefix words expanded into the index's terms match what Tantivy's fuzzy query
matches, on a real index (in memory) and through the engine across commits."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
import tantivy
from tantivy import Occur, Query

from integrations.search import tantivy_queries as queries
from integrations.search import tantivy_schema as fields
from integrations.search import tantivy_terms
from integrations.search.engine import SearchDocument
from integrations.search.tantivy_engine import TantivySearch
from integrations.search.tantivy_highlight import Highlighter
from integrations.search.tantivy_queries import QueryWord
from integrations.search.tantivy_terms import Terms, matches
from tests.integrations.tantivy_catalog import BY_ID, found

# Words over a few letters, so that many lie within a typo or two of each other.
LETTERS = "abcde"


def random_words(generator: random.Random, count: int) -> list[str]:
    return [
        "".join(generator.choice(LETTERS) for _ in range(generator.randint(2, 9)))
        for _ in range(count)
    ]


def one_word_products(words: list[str]) -> list[SearchDocument]:
    """A product per word, named by that word alone: a query's products are its terms."""
    template = BY_ID[f"{1:024x}"]
    return [
        dataclasses.replace(template, id=f"{n + 1:024x}", name=word, description="")
        for n, word in enumerate(words)
    ]


def searcher_of(documents: list[SearchDocument]) -> tantivy.Searcher:
    index = tantivy.Index(fields.build_schema())
    fields.register_analyzers(index)
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for document in documents:
        writer.add_document(fields.to_document(document))
    writer.commit()
    index.reload()
    return index.searcher()


def names(searcher: tantivy.Searcher, query: Query) -> set[str]:
    hits = searcher.search(query, limit=10_000).hits
    return {str(searcher.doc(address).get_first(fields.NAME)) for _, address in hits}


def kind(clauses: list[Query]) -> str:
    if len(clauses) == 1 and "FuzzyTermQuery" in repr(clauses[0]):
        return "fuzzy"
    assert all("TermQuery" in repr(clause) for clause in clauses)
    return "terms"


@pytest.mark.parametrize("seed", range(3))
def test_expanded_words_match_the_terms_the_rule_accepts(seed: int) -> None:
    generator = random.Random(seed)
    vocabulary = sorted(set(random_words(generator, 400)))
    searcher = searcher_of(one_word_products(vocabulary))
    terms = Terms(searcher)
    schema = fields.build_schema()
    # Single letters begin more terms than are asked for one by one.
    asked = random_words(generator, 40) + generator.sample(vocabulary, 20) + list(LETTERS)
    kinds = set()
    for word in asked:
        for typos in (0, 1, 2):
            for prefix in (False, True):
                clauses = queries.loose_clauses(
                    schema, terms, fields.NAME_WORDS, word, typos, prefix
                )
                kinds.add(kind(clauses))
                matched = names(searcher, queries.every_word([clauses]))
                accepted = {
                    term for term in vocabulary if matches(word, term, typos, prefix=prefix)
                }
                fuzzy = Query.fuzzy_term_query(
                    schema, fields.NAME_WORDS, word, typos, prefix=prefix
                )
                by_fuzzy = names(searcher, fuzzy)
                # The rule is the one Tantivy's fuzzy query documents. Its automaton keeps to
                # it but at two typos as a prefix, where it accepts a few less.
                if typos == 2 and prefix:
                    assert by_fuzzy <= accepted, word
                else:
                    assert by_fuzzy == accepted, (word, typos, prefix)
                if kind(clauses) == "terms":
                    assert matched == accepted, (word, typos, prefix)
                    assert len(clauses) <= tantivy_terms.MAX_EXPANSION
                else:
                    assert matched == by_fuzzy
                    assert len(accepted) > tantivy_terms.MAX_EXPANSION, (word, typos, prefix)
    # Both ways were taken: a few terms one by one, many by Tantivy's fuzzy query.
    assert kinds == {"terms", "fuzzy"}


def test_a_word_is_asked_for_as_its_terms_when_they_are_few() -> None:
    searcher = searcher_of(one_word_products(["headphones", "headphone", "headset", "phones"]))
    terms = Terms(searcher)
    schema = fields.build_schema()

    assert terms.expand(fields.NAME_WORDS, "hedphones", 2, prefix=False) == (
        "headphone",
        "headphones",
    )
    assert terms.expand(fields.NAME_WORDS, "head", 0, prefix=True) == (
        "headphone",
        "headphones",
        "headset",
    )
    clauses = queries.loose_clauses(schema, terms, fields.NAME_WORDS, "hedphones", 2, False)
    assert kind(clauses) == "terms"
    assert len(clauses) == 2
    assert queries.loose_clauses(schema, terms, fields.NAME_WORDS, "zzzzzz", 1, False) == []
    # A word with no term at all: the words together match nothing.
    assert names(searcher, queries.every_word([clauses, []])) == set()


def test_a_field_with_too_many_terms_to_hold_is_matched_by_the_fuzzy_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tantivy_terms, "MAX_TERMS", 2)
    searcher = searcher_of(one_word_products(["headphones", "headphone", "headset"]))
    schema = fields.build_schema()

    oversized: set[str] = set()
    clauses = queries.loose_clauses(
        schema, Terms(searcher, oversized=oversized), fields.NAME_WORDS, "hedphones", 2, False
    )

    assert kind(clauses) == "fuzzy"
    assert names(searcher, Query.boolean_query([(Occur.Should, clauses[0])])) == {
        "headphones",
        "headphone",
    }
    # Later commits do not read the field again, even once it would fit.
    assert oversized == {fields.NAME_WORDS}
    monkeypatch.setattr(tantivy_terms, "MAX_TERMS", 100)
    later = Terms(searcher, oversized=oversized)
    assert later.expand(fields.NAME_WORDS, "hedphones", 2, prefix=False) is None
    assert Terms(searcher).expand(fields.NAME_WORDS, "hedphones", 2, prefix=False) == (
        "headphone",
        "headphones",
    )


@pytest.mark.parametrize("separate_reader", [False, True])
async def test_a_commit_brings_its_new_words_to_typo_matches(
    tmp_path: Path, separate_reader: bool
) -> None:
    # The writer's own searches, and a reader's (the API's processes read the index the
    # worker writes: a reader finds a commit by the index's meta file), work out the terms
    # of each commit anew.
    writer = await TantivySearch.open(tmp_path / "index", writable=True)
    reader = TantivySearch.reader(tmp_path / "index") if separate_reader else writer
    try:
        await writer.upsert([BY_ID[f"{6:024x}"]])  # "Mechanical Keyboard"
        await writer.commit(None)
        assert await found(reader, "keybord") == [6]  # expanded, and remembered

        mat = dataclasses.replace(BY_ID[f"{6:024x}"], id=f"{9:024x}", name="Keybard Mat")
        await writer.upsert([mat])
        await writer.commit(None)

        assert sorted(await found(reader, "keybord")) == [6, 9]
    finally:
        await reader.close()
        await writer.close()


def test_highlights_mark_the_words_a_typo_matched_as_the_search_did() -> None:
    # "cabble" as a prefix with one typo: "cables" begins with "cable", one edit away (its
    # first six letters are two).
    word = QueryWord("cabble", "cabbl", typos=1, prefix=True, found_in=frozenset(), frequency=0)
    assert matches("cabble", "cables", 1, prefix=True)

    found = Highlighter([word])("Braided cables", "")

    assert found["name"].ranges == ((8, 14),)
