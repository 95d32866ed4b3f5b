"""Plain fields read without graphql-core's per-field machinery answer exactly as before:
values, nulls, nested objects, and the errors of a null in a non-null field, a value the scalar
refuses, or a failing field inside an object, with their paths and null propagation."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLObjectType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import FastFieldsExecutionContext, _plan


@strawberry.type
class Price:
    amount: int
    currency: str


@strawberry.type
class Item:
    name: str
    count: int
    note: str | None
    nickname: str = strawberry.field(name="alias")
    price: Price
    old_price: Price | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def _item(name: Any, count: Any, price: Any, old_price: Any = None) -> Item:
    return Item(name=name, count=count, note=None, nickname="x", price=price, old_price=old_price)


def _price(amount: int, currency: Any) -> Price:
    return Price(amount=amount, currency=currency)


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [
            _item("a", 1, _price(5, "INR"), _price(7, "INR")),
            _item(None, 2, _price(5, "INR")),  # null in a non-null field
            _item("c", "many", _price(5, "INR")),  # a value Int refuses
            _item("d", 4, _price(5, None)),  # fails inside a non-null object
            _item("e", 5, _price(5, "INR"), _price(6, None)),  # ... inside a nullable one
            _item("f", 6, None),  # null non-null object
            _item("g", 7, "not a price"),  # an object of the wrong type
        ]


DOCUMENT = """
{ items { name count note alias shout __typename
          price { amount currency } oldPrice { amount currency } } }
"""


async def _answer(execution_context_class: type) -> dict[str, Any]:
    schema = strawberry.Schema(Query, execution_context_class=execution_context_class)
    result = await schema.execute(DOCUMENT)
    return {
        "data": result.data,
        "errors": [(error.message, error.path) for error in result.errors or []],
    }


async def test_plain_fields_answer_as_graphql_cores_own_execution() -> None:
    fast = await _answer(FastFieldsExecutionContext)

    assert fast == await _answer(StrawberryGraphQLCoreExecutionContext)
    items = fast["data"]["items"]
    assert items[0] == {
        "name": "a",
        "count": 1,
        "note": None,
        "alias": "x",
        "shout": "A",
        "__typename": "Item",
        "price": {"amount": 5, "currency": "INR"},
        "oldPrice": {"amount": 7, "currency": "INR"},
    }
    # A failing non-null field nulls its item; a failing nullable object is null itself.
    assert items[1:4] == [None, None, None]
    assert items[4]["oldPrice"] is None
    assert items[5:] == [None, None]
    assert [path for _, path in fast["errors"]] == [
        ["items", 1, "name"],
        ["items", 2, "count"],
        ["items", 3, "price", "currency"],
        ["items", 4, "oldPrice", "currency"],
        ["items", 5, "price"],
        ["items", 6, "price", "amount"],
    ]


def test_only_plain_scalar_and_object_fields_take_the_short_path() -> None:
    schema = strawberry.Schema(Query, execution_context_class=FastFieldsExecutionContext)
    item_type = schema._schema.type_map["Item"]
    assert isinstance(item_type, GraphQLObjectType)
    fields = item_type.fields

    core = schema._schema

    assert all(_plan(core, fields[name]) for name in ("name", "count", "note", "alias"))
    assert all(_plan(core, fields[name]) for name in ("price", "oldPrice"))
    assert _plan(core, fields["shout"]) is None  # a resolver of its own
    assert _plan(core, core.query_type.fields["items"]) is None  # type: ignore[union-attr]
