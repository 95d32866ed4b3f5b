"""GraphQL objects that read their plain fields from the document they wrap, when asked."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import strawberry

from schema.document_fields import node_for, read_from_document


@dataclass
class Stored:
    title: str
    cents: int
    reads: int = 0

    @property
    def price(self) -> str:
        self.reads += 1
        return f"{self.cents / 100:.2f}"


@strawberry.type
class Book:
    title: str
    price: str
    _document: strawberry.Private[Stored]

    @strawberry.field
    def shout(self) -> str:
        return self.title.upper()


read_from_document(Book, title="title", price=lambda stored: stored.price)


@strawberry.type
class Query:
    @strawberry.field
    def book(self) -> Book:
        return node_for(Book, STORED)


STORED = Stored(title="Dune", cents=1250)


async def test_fields_are_read_from_the_document_only_when_selected() -> None:
    schema = strawberry.Schema(Query)
    STORED.reads = 0

    titled = await schema.execute("{ book { title shout } }")
    assert titled.data == {"book": {"title": "Dune", "shout": "DUNE"}}
    assert STORED.reads == 0

    priced = await schema.execute("{ book { price } }")
    assert priced.data == {"book": {"price": "12.50"}}
    assert STORED.reads == 1


def test_every_plain_field_needs_a_reader() -> None:
    @strawberry.type
    class Partial:
        title: str
        price: str
        _document: strawberry.Private[Stored]

    with pytest.raises(TypeError, match=r"readers for \['price'\] missing"):
        read_from_document(Partial, title="title")
    with pytest.raises(TypeError, match=r"\['pages'\] are no plain fields"):
        read_from_document(Partial, title="title", price="price", pages="pages")
