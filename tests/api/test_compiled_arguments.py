"""A compiled read's root field arguments (schema/compiled_reads/arguments.py) convert to what
Strawberry's own conversion makes of them: the same values of the same types, new objects for
every request, and Strawberry's conversion kept for what the compiled one leaves to it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import strawberry
from graphql import FieldNode, OperationDefinitionNode, parse
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments

from schema.compiled_reads.arguments import argument_converter
from schema.root import build_schema

SCHEMA = build_schema()
FILTER = {
    "categoryId": "Q2F0ZWdvcnk6NjU2YmNiMTgxYWQ1ZDY4MzViMjA3NGZm",
    "inStock": True,
    "priceMin": "500",
    "priceMax": "20000.50",
    "minRating": 3,
}
PRODUCTS = (
    "query($first: Int, $after: String, $f: ProductFilter, $o: ProductSortInput, $s: String) "
    "{ products(first: $first, after: $after, filter: $f, sortBy: $o, search: $s) "
    "{ edges { cursor } } }"
)


def _converted_both_ways(
    document: str, field: str, variables: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Strawberry's, the compiled converter's) keyword arguments of `field` in `document`."""
    schema = SCHEMA._schema
    assert schema.query_type is not None
    definition = schema.query_type.fields[field]
    strawberry_field = definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(schema, operation.variable_definitions or [], variables)
    assert not isinstance(coerced, list), coerced  # not a list of errors
    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    registry = SCHEMA.schema_converter.scalar_registry
    convert = argument_converter(strawberry_field.arguments, registry, SCHEMA.config)
    expected = convert_arguments(
        get_argument_values(definition, node, coerced),
        strawberry_field.arguments,
        scalar_registry=registry,
        config=SCHEMA.config,
    )
    return expected, convert(get_argument_values(definition, node, coerced))


@pytest.mark.parametrize(
    "variables",
    [
        {},
        {"first": 20, "s": "wireless", "f": FILTER},
        {"first": 5, "after": "abc", "f": {"brand": "Sony", "includeArchived": True}},
        {"f": None, "o": None, "s": None},
        {"f": {}, "o": {"field": "PRICE"}},
        {"o": {"field": "RATING", "direction": "DESC"}, "f": {"priceMin": "0.01"}},
    ],
)
def test_products_arguments_convert_as_strawberry_converts_them(
    variables: dict[str, Any],
) -> None:
    expected, converted = _converted_both_ways(PRODUCTS, "products", variables)

    assert converted == expected
    assert [type(value) for value in converted.values()] == [
        type(value) for value in expected.values()
    ]
    if variables.get("f"):
        assert isinstance(converted["filter"].price_min, Decimal | None)


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query($id: ID) { product(id: $id) { name } }", {"id": "UHJvZHVjdDox"}),
        ('{ product(slug: "mug") { name } }', {}),
        ("{ product { name } }", {}),
    ],
)
def test_product_arguments_convert_as_strawberry_converts_them(
    document: str, variables: dict[str, Any]
) -> None:
    expected, converted = _converted_both_ways(document, "product", variables)

    assert converted == expected


def test_every_request_gets_input_objects_of_its_own() -> None:
    schema = SCHEMA._schema
    assert schema.query_type is not None
    definition = schema.query_type.fields["products"]
    strawberry_field = definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    registry = SCHEMA.schema_converter.scalar_registry
    convert = argument_converter(strawberry_field.arguments, registry, SCHEMA.config)
    raw = {"first": 2, "filter": {"brand": "Sony", "inStock": True}}

    first, second = convert(raw), convert(raw)

    assert first["filter"] == second["filter"]
    assert first["filter"] is not second["filter"]


@strawberry.input
class Point:
    x: int
    label: str | None  # no default: None when left out
    tags: list[strawberry.ID] | None = None


@strawberry.input
class Area:
    corners: list[Point]
    within: Area | None = None  # an input type holding itself


@strawberry.type
class Places:
    @strawberry.field
    def near(
        self,
        at: Point,
        node: strawberry.relay.GlobalID | None = None,
        around: strawberry.Maybe[int] = None,
        names: list[str] | None = None,
        route: list[Point] | None = None,
        area: Area | None = None,
    ) -> int:
        return at.x


def test_a_type_it_does_not_know_is_left_to_strawberry() -> None:
    schema = strawberry.Schema(Places)
    field = schema.get_type_by_name("Places").fields[0]  # type: ignore[union-attr]
    registry = schema.schema_converter.scalar_registry
    convert = argument_converter(field.arguments, registry, schema.config)
    raw = {
        "at": {"x": 1, "tags": ["a", "b"]},
        "node": "UG9pbnQ6MQ==",
        "around": 4,
        "names": ["a", "b"],
        "route": [{"x": 2}, {"x": 3, "label": "c"}],
        "area": {"corners": [{"x": 4}], "within": {"corners": []}},
    }

    converted = convert(raw)
    assert converted == convert_arguments(
        raw, field.arguments, scalar_registry=registry, config=schema.config
    )
    assert converted["at"].label is None
    assert converted["node"].node_id == "1"
    assert converted["around"].value == 4
    assert converted["route"] == [Point(x=2, label=None), Point(x=3, label="c")]
    assert converted["area"].within == Area(corners=[])
    # A list is copied (graphql-core hands every request the same default one).
    assert converted["names"] == raw["names"]
    assert converted["names"] is not raw["names"]
