"""The request bodies the schema fuzzer (test_fuzz.py) sends: operations generated from the
schema by hypothesis-graphql, with values that reach the seeded shop, values an attacker tries,
and, in variables, JSON that no literal can express.

IDs of seeded entities are written as placeholders, `@@Type:key@@`, and replaced with real
global IDs once the shop of an example is seeded. Most ID values name an entity of the type the
argument expects (`productId`, the `id` of `updateAddress`); others pair a type with another
type's entity (the Product ID of an order), or are malformed.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import graphql
from graphql.language import ast
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from tests.factories import DEFAULT_PASSWORD

GUEST_CART_TOKEN = "fuzz-guest-cart-token-0123456789abcdefghijklmnopqrstuv"
LINE_ID = "0000000000000000000f0001"
ORDER_NUMBERS = (100_001, 100_002, 100_003, 100_004)

# The seeded entities of each node type (test_fuzz.seed_shop stores them under these keys).
ENTITIES = {
    "Product": ("product", "hidden", "sold_out", "archived", "discounted"),
    "Category": ("top", "sub", "empty"),
    "User": ("customer", "admin", "other"),
    "Session": ("session", "admin_session", "other_session"),
    "StockMovement": ("movement",),
    "Order": ("order", "delivered", "paid", "others_order"),
    "Address": ("address",),
    "Cart": ("cart", "guest_cart"),
    "Review": ("review",),
}
PLACEHOLDER = re.compile(r"@@(\w+):(\w+)@@")
# An entity of whichever type the argument expects, resolved once the operation is generated.
EXPECTED = re.compile(r"@@expected:(\d+)@@")
# The node type an ID argument or input field names, by its name without `Id`/`Ids`.
ID_NAME_TYPES = {
    "product": "Product",
    "category": "Category",
    "subcategory": "Category",
    "parent": "Category",
    "moveProductsTo": "Category",
    "moveSubcategoriesTo": "Category",
    "user": "User",
    "order": "Order",
    "address": "Address",
    "review": "Review",
    "existingReview": "Review",
    "session": "Session",
}

KNOWN_STRINGS = (
    "customer@example.com",
    "admin@example.com",
    "other@example.com",
    "CUSTOMER@EXAMPLE.COM",
    DEFAULT_PASSWORD,
    GUEST_CART_TOKEN,
    LINE_ID,
    "fuzz-top",
    "fuzz-sub",
    "fuzz-product",
    "fuzz-hidden",
    "fuzz-archived",
    "Fuzz Product",
    "Acme",
    "INR",
    "USD",
    "Asha Rao",
    "+919812345678",
    "9876543210",
    "560001",
    "Karnataka",
    "IN",
    "A new name",
)
# Injections, operators, control and bidi characters, numbers in disguise, huge and empty.
HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "\t\n\r",
    "a" * 10_000,
    "é" * 3_000,
    "' OR '1'='1",
    '{"$gt": ""}',
    "$where",
    "$ne",
    "a.b.$c",
    ".*",
    "(a+)+$",
    "[",
    "\\",
    "../../../etc/passwd",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "\u202egnp.exe",
    "\u200b",
    "\ufeff",
    "\U0001f600" * 50,
    "İ",
    "%00",
    "%s%s%n",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "\r\nSet-Cookie: x=1",
    "NaN",
    "Infinity",
    "-0",
    "1e309",
    "0x10",
    "null",
    "[]",
    "{}",
    "====",
    "eyJ9",
    "UHJvZHVjdDo=",
    "Product:",
    "a@b",
    "@",
    "x" * 300 + "@example.com",
)
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


def placeholder(type_name: str, key: str) -> str:
    return f"@@{type_name}:{key}@@"


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn about `weight` times as often as one of weight 1."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


EXPECTED_IDS = st.integers(0, 20).map(lambda number: f"@@expected:{number}@@")
MATCHING_IDS = st.sampled_from(
    [placeholder(type_name, key) for type_name, keys in ENTITIES.items() for key in keys]
)
CROSSED_IDS = st.builds(
    placeholder,
    st.sampled_from(sorted(ENTITIES)),
    st.sampled_from([key for keys in ENTITIES.values() for key in keys]),
)
MALFORMED_IDS = st.one_of(
    st.sampled_from(
        ["Product:zzz", "Nope:000000000000000000000001", "Product:" + "f" * 24, "Product:"]
    ).map(lambda plain: base64.b64encode(plain.encode()).decode()),
    st.just("000000000000000000000001"),
    st.binary(max_size=30).map(lambda raw: base64.b64encode(raw).decode()),
)
IDS = weighted(
    (6, EXPECTED_IDS),
    (1, CROSSED_IDS),
    (1, MALFORMED_IDS),
    (1, st.sampled_from(HOSTILE_STRINGS)),
)

# Cursors of the API's orderings (resolvers/pagination.py) around values of any JSON type.
CURSOR_ORDERINGS = (
    "created_at_-1",
    "created_at_1",
    "price_1",
    "name_1",
    "category_name",
    "review_newest",
    "review_highest",
    "movement_-1",
    "user_created_-1",
    "order_created_at_-1",
    "order_total_1",
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_VALUES = st.one_of(
    JSON_SCALARS,
    st.lists(JSON_SCALARS, max_size=3),
    st.dictionaries(TEXT, JSON_SCALARS, max_size=2),
)
CURSORS = st.builds(
    lambda name, value, row_id: (
        base64.urlsafe_b64encode(json.dumps([name, value, row_id]).encode()).decode().rstrip("=")
    ),
    st.sampled_from(CURSOR_ORDERINGS),
    JSON_VALUES,
    st.one_of(st.just("000000000000000000000001"), JSON_VALUES),
)

STRINGS = weighted(
    (3, st.sampled_from(KNOWN_STRINGS)),
    (2, st.sampled_from(HOSTILE_STRINGS)),
    (1, MATCHING_IDS),
    (1, CURSORS),
    (2, TEXT),
)
INTS = weighted(
    (3, st.integers(-2, 12)),
    (2, st.sampled_from([0, 1, 99, 100, 101, 1_000_000, 2**31 - 1, -(2**31), *ORDER_NUMBERS])),
    (1, st.integers(-(2**31), 2**31 - 1)),
)
DATETIMES = weighted(
    (
        2,
        st.datetimes(
            min_value=datetime(1, 1, 1),
            max_value=datetime(9999, 12, 31),
            timezones=st.sampled_from([UTC, None]),
        ).map(datetime.isoformat),
    ),
    (
        1,
        st.sampled_from(
            [
                "2026-01-01",
                "2026-01-01T00:00:00",
                "2026-01-01T00:00:00Z",
                "2026-13-01T00:00:00Z",
                "2026-01-01T00:00:00+25:00",
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59.999999-14:00",
                "yesterday",
                "1e10",
            ]
        ),
    ),
    (1, st.sampled_from(HOSTILE_STRINGS)),
)
DECIMALS = weighted(
    (2, st.decimals(min_value=-1000, max_value=100_000, places=2).map(str)),
    (1, st.decimals(allow_nan=True, allow_infinity=True).map(str)),
    (
        1,
        st.sampled_from(
            [
                "0",
                "-0.01",
                "0.001",
                "1e2",
                "1E+400",
                "1e-400",
                "99999999999999999999.99",
                "12,50",
                "1_000",
                " 5 ",
                "\u0663",
            ]
        ),
    ),
    (1, st.sampled_from(HOSTILE_STRINGS)),
)

# Value nodes for hypothesis-graphql, by scalar type name; they replace its built-in String, Int
# and ID values so that arguments name the seeded shop as often as they attack it.
CUSTOM_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "String": STRINGS.map(nodes.String),
    "Int": INTS.map(nodes.Int),
    "ID": IDS.map(nodes.String),
    "DateTime": DATETIMES.map(nodes.String),
    "Decimal": st.one_of(DECIMALS.map(nodes.String), INTS.map(nodes.Int)),
    # A file cannot be written as a literal; what stands in for one must be refused with a code.
    "Upload": st.one_of(st.sampled_from(HOSTILE_STRINGS), TEXT).map(nodes.String),
}

# What a variable may hold instead of a value of its type: operator objects where a string goes,
# numbers past every range, long lists of IDs.
HOSTILE_JSON = st.one_of(
    st.sampled_from([{"$gt": ""}, {"$ne": None}, {"$where": "sleep(1000)"}, [], {}, True, -1.5]),
    st.integers(min_value=2**31, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-(2**31) - 1),
    st.lists(MATCHING_IDS, min_size=101, max_size=120),
    JSON_VALUES,
)

SCHEMA = graphql.build_schema((Path(__file__).parents[2] / "schema.graphql").read_text())
assert SCHEMA.query_type is not None
assert SCHEMA.mutation_type is not None
QUERY_FIELDS = sorted(SCHEMA.query_type.fields)
MUTATION_FIELDS = sorted(SCHEMA.mutation_type.fields)
Build = Callable[..., st.SearchStrategy[str]]


def _operations(build: Build, root_fields: list[str]) -> st.SearchStrategy[str]:
    """Mostly one root field, each about as often as the others (a root field that fails nulls
    its siblings), now and then several at once."""
    one_field = {
        name: build(SCHEMA, fields=[name], custom_scalars=CUSTOM_SCALARS) for name in root_fields
    }
    single = st.sampled_from(root_fields).flatmap(one_field.__getitem__)
    several = build(SCHEMA, custom_scalars=CUSTOM_SCALARS)
    return st.sampled_from([single, single, single, several]).flatmap(lambda choice: choice)


def _expected_id(name: str, field: str, number: int) -> str:
    """The `number`th seeded entity of the type the ID argument or input field `name` of `field`
    expects; of any type where nothing says which (`node`)."""
    if name == "lineId":
        return LINE_ID
    type_name = ID_NAME_TYPES.get(name.removesuffix("Ids").removesuffix("Id"))
    if type_name is None and name in ("id", "ids"):
        # `updateAddress(input: {id})`: the longest type named in the field (updateProductImage).
        named = [node_type for node_type in ENTITIES if node_type.lower() in field.lower()]
        type_name = max(named, key=len) if named else None
    if type_name is None:
        every = [(node_type, key) for node_type, keys in ENTITIES.items() for key in keys]
        return placeholder(*every[number % len(every)])
    keys = ENTITIES[type_name]
    return placeholder(type_name, keys[number % len(keys)])


class _ResolveExpectedIds(graphql.Visitor):
    """Replaces each `@@expected:n@@` with a placeholder of the type its argument expects."""

    def enter_string_value(
        self, node: ast.StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> ast.StringValueNode | None:
        expected = EXPECTED.fullmatch(node.value)
        if expected is None:
            return None
        enclosing = [*ancestors, parent]  # the direct parent is not among the ancestors
        names = [
            n.name.value for n in enclosing if isinstance(n, ast.ArgumentNode | ast.ObjectFieldNode)
        ]
        fields = [n.name.value for n in enclosing if isinstance(n, ast.FieldNode)]
        value = _expected_id(names[-1], fields[-1], int(expected[1]))
        return ast.StringValueNode(value=value)


def lift_into_variables(document: ast.DocumentNode) -> tuple[ast.DocumentNode, dict[str, Any]]:
    """The same operation with each argument passed as a variable of the argument's type."""
    type_info = graphql.TypeInfo(SCHEMA)
    definitions: list[ast.VariableDefinitionNode] = []
    variables: dict[str, Any] = {}

    class Lift(graphql.Visitor):
        def enter_argument(self, node: ast.ArgumentNode, *_: Any) -> ast.ArgumentNode | None:
            argument = type_info.get_argument()
            if argument is None:
                return None
            variable = ast.VariableNode(name=ast.NameNode(value=f"v{len(definitions)}"))
            definitions.append(
                ast.VariableDefinitionNode(
                    variable=variable, type=graphql.parse_type(str(argument.type))
                )
            )
            variables[variable.name.value] = graphql.value_from_ast_untyped(node.value)
            return ast.ArgumentNode(name=node.name, value=variable)

    lifted = graphql.visit(document, graphql.TypeInfoVisitor(type_info, Lift()))
    (operation,) = lifted.definitions
    assert isinstance(operation, ast.OperationDefinitionNode)
    with_variables = ast.OperationDefinitionNode(
        operation=operation.operation,
        selection_set=operation.selection_set,
        variable_definitions=tuple(definitions),
    )
    return ast.DocumentNode(definitions=(with_variables,)), variables


@st.composite
def _request_bodies(draw: st.DrawFn, operations: st.SearchStrategy[str]) -> dict[str, Any]:
    """A request body: the operation with literal arguments, or with variables, one of which may
    hold JSON that does not fit its type. (Hypothesis favours the first choice.)"""
    document = graphql.visit(graphql.parse(draw(operations)), _ResolveExpectedIds())
    form = draw(st.sampled_from(["literals", "variables", "a hostile variable"]))
    if form == "literals":
        return {"query": graphql.print_ast(document)}
    document, variables = lift_into_variables(document)
    if form == "a hostile variable" and variables:
        variables[draw(st.sampled_from(sorted(variables)))] = draw(HOSTILE_JSON)
    return {"query": graphql.print_ast(document), "variables": variables}


QUERY_BODIES = _request_bodies(_operations(queries, QUERY_FIELDS))
MUTATION_BODIES = _request_bodies(_operations(mutations, MUTATION_FIELDS))
