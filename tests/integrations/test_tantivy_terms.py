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
    if len(clauses) == 1 and "TermSetQuery" in repr(clauses[0]):
        return "term set"
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
                assert matched == accepted, (word, typos, prefix)
                # The rule is the one Tantivy's fuzzy query documents. Its automaton keeps to
                # it but at two typos as a prefix, where it accepts a few less.
                fuzzy = Query.fuzzy_term_query(
                    schema, fields.NAME_WORDS, word, typos, prefix=prefix
                )
                if typos == 2 and prefix:
                    assert names(searcher, fuzzy) <= accepted, word
                else:
                    assert names(searcher, fuzzy) == accepted, (word, typos, prefix)
    # Every way was taken: a few terms one by one, many in one set, and a short prefix's
    # many terms by Tantivy's own prefix query.
    assert kinds == {"terms", "term set", "fuzzy"}


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
    assert queries.every_word([clauses, []]) is not None


def test_a_field_with_too_many_terms_to_hold_is_matched_by_the_fuzzy_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tantivy_terms, "MAX_TERMS", 2)
    searcher = searcher_of(one_word_products(["headphones", "headphone", "headset"]))
    schema = fields.build_schema()

    clauses = queries.loose_clauses(
        schema, Terms(searcher), fields.NAME_WORDS, "hedphones", 2, False
    )

    assert kind(clauses) == "fuzzy"
    assert names(searcher, Query.boolean_query([(Occur.Should, clauses[0])])) == {
        "headphones",
        "headphone",
    }


async def test_a_commit_brings_its_new_words_to_typo_matches(tmp_path: Path) -> None:
    engine = await TantivySearch.open(tmp_path / "index", writable=True)
    try:
        await engine.upsert([BY_ID[f"{6:024x}"]])  # "Mechanical Keyboard"
        await engine.commit(None)
        assert await found(engine, "keybord") == [6]  # expanded, and remembered

        mat = dataclasses.replace(BY_ID[f"{6:024x}"], id=f"{9:024x}", name="Keybard Mat")
        await engine.upsert([mat])
        await engine.commit(None)

        assert sorted(await found(engine, "keybord")) == [6, 9]
    finally:
        await engine.close()
