"""Plain scalar fields read without graphql-core's per-field machinery answer exactly as before:
values, nulls, and the errors of a null in a non-null field or a value the scalar refuses."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLObjectType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import FastFieldsExecutionContext, _leaf_plan


@strawberry.type
class Item:
    name: str
    count: int
    note: str | None
    nickname: str = strawberry.field(name="alias")

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [
            Item(name="a", count=1, note=None, nickname="x"),
            Item(name=None, count=2, note="n", nickname="y"),  # type: ignore[arg-type]
            Item(name="c", count="many", note=None, nickname="z"),  # type: ignore[arg-type]
        ]


DOCUMENT = "{ items { name count note alias shout __typename } }"


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
    assert fast["data"]["items"][0] == {
        "name": "a",
        "count": 1,
        "note": None,
        "alias": "x",
        "shout": "A",
        "__typename": "Item",
    }
    # The second item's null name and the third's count are errors, and null their item.
    assert fast["data"]["items"][1:] == [None, None]
    assert [path for _, path in fast["errors"]] == [["items", 1, "name"], ["items", 2, "count"]]


def test_only_plain_scalar_fields_take_the_short_path() -> None:
    schema = strawberry.Schema(Query, execution_context_class=FastFieldsExecutionContext)
    item_type = schema._schema.type_map["Item"]
    assert isinstance(item_type, GraphQLObjectType)
    item_fields = item_type.fields

    assert all(_leaf_plan(item_fields[name]) for name in ("name", "count", "note", "alias"))
    assert _leaf_plan(item_fields["shout"]) is None  # a resolver of its own
    assert _leaf_plan(schema._schema.query_type.fields["items"]) is None  # type: ignore[union-attr]
